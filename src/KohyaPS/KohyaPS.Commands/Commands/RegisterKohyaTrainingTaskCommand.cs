using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Unattended;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Registers an unattended resume of a run: a Windows scheduled task (\KohyaPS\&lt;name&gt;) or a systemd unit
/// that runs <c>pwsh -NoProfile -NonInteractive -Command "Import-Module …; Resume-KohyaTraining -Path '&lt;run&gt;' -Latest; exit $LASTEXITCODE"</c>.
/// -WhatIf shows the exact task XML or unit text.
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "KohyaTrainingTask", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KohyaTrainingTaskInfo))]
public sealed class RegisterKohyaTrainingTaskCommand : KohyaCmdlet
{
    /// <summary>The run folder to resume.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "RunPath", "OutputPath")]
    public string Path { get; set; } = "";

    /// <summary>The task's name; default: the run folder's name.</summary>
    [Parameter]
    public string? Name { get; set; }

    /// <summary>When the task runs.</summary>
    [Parameter]
    public KohyaTrainingTaskTrigger Trigger { get; set; } = KohyaTrainingTaskTrigger.AtStartup;

    /// <summary>The time of a Daily or Once trigger (local time; for Daily only the time of day matters).</summary>
    [Parameter]
    public DateTime? At { get; set; }

    /// <summary>Restart the task after a failure (3 times, 5 minutes apart).</summary>
    [Parameter]
    public SwitchParameter RestartOnFailure { get; set; }

    /// <summary>The account to run as (Windows: DOMAIN\user or SYSTEM; Linux: a system unit with User=).</summary>
    [Parameter]
    public string? User { get; set; }

    /// <summary>Replace a task of the same name.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string run = ResolveFileSystemPath(Path);
        if (!Directory.Exists(run))
        {
            WriteError(ErrorRecordFactory.Create("RunNotFound", ErrorCategory.ObjectNotFound, $"Run folder '{run}' does not exist.", run,
                "Register the folder a training wrote (its -OutputPath)."));
            return;
        }
        string manifest = ModuleManifest();
        string psHome = (string)SessionState.PSVariable.GetValue("PSHOME");
        try
        {
            var (definition, location) = Prepare(run, Name, Trigger, At, RestartOnFailure, User, manifest, psHome, out string preview, out bool systemScope);
            string description = $"Register the training task '{definition.Name}' ({location}):{Environment.NewLine}{preview}";
            if (!ShouldProcess(description, $"Register the training task '{definition.Name}' at {location}?", "Register-KohyaTrainingTask"))
                return;
            WriteObject(Register(definition, systemScope, Force, WriteWarning));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, run);
        }
    }

    /// <summary>The manifest of the KohyaPS this session runs: the task imports exactly this one, whatever its account's PSModulePath holds.</summary>
    private string ModuleManifest()
    {
        string moduleBase = MyInvocation.MyCommand.Module?.ModuleBase ?? System.IO.Path.GetDirectoryName(typeof(RegisterKohyaTrainingTaskCommand).Assembly.Location)!;
        string psd1 = System.IO.Path.Combine(moduleBase, "KohyaPS.psd1");
        return File.Exists(psd1) ? psd1 : System.IO.Path.Combine(moduleBase, "KohyaPS.dll");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (TrainingTaskDefinition Definition, string Location) Prepare(string run, string? name, KohyaTrainingTaskTrigger trigger, DateTime? at,
        bool restart, string? user, string manifest, string psHome, out string preview, out bool systemScope)
    {
        bool windows = OperatingSystem.IsWindows();
        var definition = new TrainingTaskDefinition
        {
            Name = name ?? TrainingTaskDefinition.DefaultName(run),
            RunPath = run,
            Trigger = trigger,
            At = at,
            RestartOnFailure = restart,
            User = user ?? (windows ? $@"{Environment.UserDomainName}\{Environment.UserName}" : Environment.UserName),
            Launcher = PwshLauncher.Find(psHome, Environment.ProcessPath, windows),
            ModuleManifest = manifest,
        };
        systemScope = !windows && TrainingTaskScheduler.SystemScope(user);
        var scheduler = new TrainingTaskScheduler();
        preview = scheduler.Preview(definition, systemScope);
        return (definition, scheduler.LocationOf(definition, systemScope));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaTrainingTaskInfo Register(TrainingTaskDefinition definition, bool systemScope, bool force, Action<string> warn) =>
        new TrainingTaskScheduler().Register(definition, systemScope, force, warn);
}
