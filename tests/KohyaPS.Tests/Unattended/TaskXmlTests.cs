using System.Xml.Linq;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Unattended;
using static KohyaPS.Tests.Unattended.UnattendedTestSupport;

namespace KohyaPS.Tests.Unattended;

public class TaskXmlTests
{
    private static readonly XNamespace T = TaskXml.Ns;

    private static XElement Parse(TrainingTaskDefinition task)
    {
        var root = XDocument.Parse(TaskXml.Build(task)).Root!;
        Assert.Equal(T + "Task", root.Name);
        Assert.Equal("1.2", root.Attribute("version")?.Value);
        return root;
    }

    [Fact]
    public void Exec_action_runs_pwsh_with_arguments_that_split_back_exactly()
    {
        var task = Definition();
        var exec = Parse(task).Element(T + "Actions")!.Element(T + "Exec")!;
        Assert.Equal(@"C:\Program Files\PowerShell\7\pwsh.exe", exec.Element(T + "Command")!.Value);
        var args = TaskXml.SplitWindowsCommandLine(exec.Element(T + "Arguments")!.Value);
        Assert.Equal(task.Arguments, args);
        Assert.Equal(new[] { "-NoProfile", "-NonInteractive", "-Command" }, args.Take(3));
        Assert.Equal(@"D:\runs\ann's cat & dog $HOME 100%\", exec.Element(T + "WorkingDirectory")!.Value);
        // Inside the command, the run path is one PowerShell literal: the apostrophe doubled, '$HOME' not expanded.
        Assert.Contains(@"Resume-KohyaTraining -Path 'D:\runs\ann''s cat & dog $HOME 100%\' -Latest; exit $LASTEXITCODE", args[3]);
        Assert.StartsWith("Import-Module 'C:\\Program Files\\PowerShell\\Modules\\KohyaPS\\0.1.0\\KohyaPS.psd1' -ErrorAction Stop;", args[3]);
    }

    [Theory]
    [InlineData(KohyaTrainingTaskTrigger.AtStartup, "BootTrigger")]
    [InlineData(KohyaTrainingTaskTrigger.AtLogOn, "LogonTrigger")]
    [InlineData(KohyaTrainingTaskTrigger.Daily, "CalendarTrigger")]
    [InlineData(KohyaTrainingTaskTrigger.Once, "TimeTrigger")]
    public void Each_trigger_becomes_its_scheduler_element(KohyaTrainingTaskTrigger trigger, string element)
    {
        DateTime? at = trigger is KohyaTrainingTaskTrigger.Daily or KohyaTrainingTaskTrigger.Once ? new DateTime(2026, 12, 1, 2, 30, 0) : null;
        var triggers = Parse(Definition(trigger, at)).Element(T + "Triggers")!.Elements().ToList();
        var only = Assert.Single(triggers);
        Assert.Equal(element, only.Name.LocalName);
        Assert.Equal("true", only.Element(T + "Enabled")?.Value);
        switch (trigger)
        {
            case KohyaTrainingTaskTrigger.AtStartup:
                Assert.Equal("PT1M", only.Element(T + "Delay")?.Value);
                break;
            case KohyaTrainingTaskTrigger.AtLogOn:
                Assert.Equal("BOX\\ann", only.Element(T + "UserId")?.Value);
                break;
            case KohyaTrainingTaskTrigger.Daily:
                Assert.Equal("2026-12-01T02:30:00", only.Element(T + "StartBoundary")?.Value);
                Assert.Equal("1", only.Element(T + "ScheduleByDay")?.Element(T + "DaysInterval")?.Value);
                break;
            default:
                Assert.Equal("2026-12-01T02:30:00", only.Element(T + "StartBoundary")?.Value);
                break;
        }
    }

    [Fact]
    public void Settings_suit_long_training_and_restart_on_failure_appears_only_when_asked()
    {
        var settings = Parse(Definition(restart: true)).Element(T + "Settings")!;
        Assert.Equal("PT0S", settings.Element(T + "ExecutionTimeLimit")?.Value);
        Assert.Equal("IgnoreNew", settings.Element(T + "MultipleInstancesPolicy")?.Value);
        Assert.Equal("5", settings.Element(T + "Priority")?.Value);
        Assert.Equal("false", settings.Element(T + "DisallowStartIfOnBatteries")?.Value);
        Assert.Equal("true", settings.Element(T + "StartWhenAvailable")?.Value);
        var restart = settings.Element(T + "RestartOnFailure")!;
        Assert.Equal("PT5M", restart.Element(T + "Interval")?.Value);
        Assert.Equal("3", restart.Element(T + "Count")?.Value);
        Assert.Null(Parse(Definition(restart: false)).Element(T + "Settings")!.Element(T + "RestartOnFailure"));
    }

    [Theory]
    [InlineData("BOX\\ann", KohyaTrainingTaskTrigger.AtLogOn, "BOX\\ann", "InteractiveToken")]
    [InlineData("BOX\\ann", KohyaTrainingTaskTrigger.AtStartup, "BOX\\ann", "S4U")]
    [InlineData("SYSTEM", KohyaTrainingTaskTrigger.AtStartup, "S-1-5-18", "ServiceAccount")]
    [InlineData(@"NT AUTHORITY\SYSTEM", KohyaTrainingTaskTrigger.AtStartup, "S-1-5-18", "ServiceAccount")]
    public void Principal_runs_as_the_user_with_a_logon_type_that_fits_the_trigger(string user, KohyaTrainingTaskTrigger trigger, string userId, string logonType)
    {
        var root = Parse(Definition(trigger, user: user));
        var principal = root.Element(T + "Principals")!.Element(T + "Principal")!;
        Assert.Equal("Author", principal.Attribute("id")?.Value);
        Assert.Equal(userId, principal.Element(T + "UserId")?.Value);
        Assert.Equal(logonType, principal.Element(T + "LogonType")?.Value);
        Assert.Equal("LeastPrivilege", principal.Element(T + "RunLevel")?.Value);
        Assert.Equal("Author", root.Element(T + "Actions")!.Attribute("Context")?.Value);
    }

    [Fact]
    public void Reads_back_what_it_wrote_and_ignores_other_tasks()
    {
        var task = Definition(KohyaTrainingTaskTrigger.Daily, new DateTime(2026, 12, 1, 2, 0, 0), restart: true);
        var info = TaskXml.Read(task.Name, TaskXml.Build(task), "Ready")!;
        Assert.Equal(task.RunPath, info.RunPath);
        Assert.Equal(KohyaTrainingTaskTrigger.Daily, info.Trigger);
        Assert.Equal(new DateTime(2026, 12, 1, 2, 0, 0), info.At);
        Assert.True(info.RestartOnFailure);
        Assert.Equal(task.Launcher.Executable, info.Executable);
        Assert.Equal(task.Arguments, info.Arguments);
        Assert.Equal(@"\KohyaPS\cat-lora", info.Location);
        Assert.Null(TaskXml.Read("x", "<Task xmlns='http://schemas.microsoft.com/windows/2004/02/mit/task'><Actions/></Task>", ""));
        Assert.Null(TaskXml.Read("x", "not xml", ""));
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("has space", "\"has space\"")]
    [InlineData(@"C:\dir\", @"C:\dir\")]
    [InlineData(@"C:\my dir\", "\"C:\\my dir\\\\\"")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    [InlineData("", "\"\"")]
    public void Windows_argument_quoting_follows_CommandLineToArgvW(string arg, string quoted)
    {
        Assert.Equal(quoted, ResumeCommand.WindowsArgument(arg));
        Assert.Equal(new[] { arg, "next" }, TaskXml.SplitWindowsCommandLine(quoted + " next"));
    }

    [Fact]
    public void Invalid_definitions_are_refused_with_specific_ids()
    {
        Assert.Equal("InvalidTaskName", Assert.Throws<KohyaException>(() => TaskXml.Build(Definition(name: "bad name!"))).ErrorId);
        Assert.Equal("TaskTimeRequired", Assert.Throws<KohyaException>(() => TaskXml.Build(Definition(KohyaTrainingTaskTrigger.Daily))).ErrorId);
        Assert.Equal("TaskTimeNotApplicable", Assert.Throws<KohyaException>(() => TaskXml.Build(Definition(KohyaTrainingTaskTrigger.AtLogOn, DateTime.Now))).ErrorId);
        Assert.Equal("InvalidTaskPath", Assert.Throws<KohyaException>(() => TaskXml.Build(Definition(run: "D:\\runs\\a\nb"))).ErrorId);
    }

    [Theory]
    [InlineData(@"D:\runs\cat lora", "cat-lora")]
    [InlineData("/srv/runs/ann's run/", "ann-s-run")]
    [InlineData("/srv/runs/---", "run")]
    public void Default_names_come_from_the_run_folder(string run, string name) =>
        Assert.Equal(name, TrainingTaskDefinition.DefaultName(run.Replace('\\', Path.DirectorySeparatorChar)));
}
