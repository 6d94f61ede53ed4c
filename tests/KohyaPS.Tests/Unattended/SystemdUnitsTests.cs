using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Unattended;
using static KohyaPS.Tests.Unattended.UnattendedTestSupport;

namespace KohyaPS.Tests.Unattended;

public class SystemdUnitsTests
{
    private static Dictionary<string, List<string>> Keys(string text, string section)
    {
        var keys = new Dictionary<string, List<string>>();
        string? current = null;
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith('[')) { current = line; continue; }
            if (current != section || line.StartsWith('#') || !line.Contains('=')) continue;
            int eq = line.IndexOf('=');
            (keys.TryGetValue(line[..eq], out var list) ? list : keys[line[..eq]] = new List<string>()).Add(line[(eq + 1)..]);
        }
        return keys;
    }

    [Fact]
    public void Service_execs_pwsh_with_escaped_words_that_split_back_exactly()
    {
        var task = Definition(user: "ann", windows: false);
        var units = SystemdUnits.Build(task, systemScope: false);
        var service = Keys(units.ServiceText, "[Service]");
        string exec = Assert.Single(service["ExecStart"]);
        Assert.Equal(new[] { task.Launcher.Executable }.Concat(task.Arguments), SystemdUnits.SplitExecStart(exec));
        // systemd would expand $HOME, $LASTEXITCODE and %-specifiers: each is doubled.
        Assert.Contains("$$HOME 100%%", exec);
        Assert.Contains("exit $$LASTEXITCODE", exec);
        Assert.DoesNotContain("User", service.Keys);
        Assert.Equal("SIGTERM", Assert.Single(service["KillSignal"]));
        Assert.Equal("/srv/runs/ann's cat & dog $HOME 100%%", Assert.Single(service["WorkingDirectory"]));
        Assert.Equal("default.target", Assert.Single(Keys(units.ServiceText, "[Install]")["WantedBy"]));
        Assert.Null(units.TimerText);
        Assert.Equal("kohyaps-cat-lora.service", units.EnableName);
    }

    [Fact]
    public void Restart_on_failure_never_restarts_after_codes_a_restart_cannot_fix()
    {
        var units = SystemdUnits.Build(Definition(restart: true, user: "ann", windows: false), systemScope: false);
        var service = Keys(units.ServiceText, "[Service]");
        Assert.Equal("on-failure", Assert.Single(service["Restart"]));
        Assert.Equal("300", Assert.Single(service["RestartSec"]));
        var codes = Assert.Single(service["RestartPreventExitStatus"]).Split(' ').Select(int.Parse).ToHashSet();
        var expected = Enum.GetValues<KohyaExitCode>().Where(c => c is not KohyaExitCode.Success and not KohyaExitCode.Failed).Select(c => (int)c).ToHashSet();
        Assert.Equal(expected, codes);
        Assert.DoesNotContain("Restart", Keys(SystemdUnits.Build(Definition(user: "ann", windows: false), false).ServiceText, "[Service]").Keys);
    }

    [Theory]
    [InlineData(KohyaTrainingTaskTrigger.Daily, "*-*-* 02:30:00")]
    [InlineData(KohyaTrainingTaskTrigger.Once, "2026-12-01 02:30:00")]
    public void Timed_triggers_add_a_persistent_timer_and_the_service_has_no_install_section(KohyaTrainingTaskTrigger trigger, string onCalendar)
    {
        var units = SystemdUnits.Build(Definition(trigger, new DateTime(2026, 12, 1, 2, 30, 0), user: "ann", windows: false), false);
        Assert.DoesNotContain("[Install]", units.ServiceText);
        var timer = Keys(units.TimerText!, "[Timer]");
        Assert.Equal(onCalendar, Assert.Single(timer["OnCalendar"]));
        Assert.Equal("true", Assert.Single(timer["Persistent"]));
        Assert.Equal("kohyaps-cat-lora.service", Assert.Single(timer["Unit"]));
        Assert.Equal("timers.target", Assert.Single(Keys(units.TimerText!, "[Install]")["WantedBy"]));
        Assert.Equal("kohyaps-cat-lora.timer", units.EnableName);
    }

    [Fact]
    public void A_system_unit_runs_as_the_user_and_starts_with_the_system()
    {
        var units = SystemdUnits.Build(Definition(user: "trainer", windows: false), systemScope: true);
        Assert.Equal("trainer", Assert.Single(Keys(units.ServiceText, "[Service]")["User"]));
        Assert.Equal("multi-user.target", Assert.Single(Keys(units.ServiceText, "[Install]")["WantedBy"]));
        var ex = Assert.Throws<KohyaException>(() => SystemdUnits.Build(Definition(KohyaTrainingTaskTrigger.AtLogOn, user: "trainer", windows: false), systemScope: true));
        Assert.Equal("TriggerNotSupported", ex.ErrorId);
    }

    [Fact]
    public void Reads_back_what_it_wrote()
    {
        var task = Definition(KohyaTrainingTaskTrigger.Daily, new DateTime(2026, 12, 1, 2, 30, 0), restart: true, user: "ann", windows: false);
        var units = SystemdUnits.Build(task, false);
        var info = SystemdUnits.Read("/home/ann/.config/systemd/user/" + units.ServiceName, units.ServiceText, units.TimerText, false, "enabled")!;
        Assert.Equal(task.Name, info.Name);
        Assert.Equal(task.RunPath, info.RunPath);
        Assert.Equal(KohyaTrainingTaskTrigger.Daily, info.Trigger);
        Assert.Equal(task.At, info.At);
        Assert.True(info.RestartOnFailure);
        Assert.Equal("SystemdUser", info.Scheduler);
        Assert.Equal(task.Arguments, info.Arguments);
        Assert.Equal(units.Combined, info.Definition);
        Assert.Null(SystemdUnits.Read("/x/other.service", units.ServiceText, null, false, ""));
        Assert.Null(SystemdUnits.Read("/x/kohyaps-x.service", "[Service]\nExecStart=/bin/true\n", null, false, ""));
    }
}
