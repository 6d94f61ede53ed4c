using KohyaPS.Contracts;

namespace KohyaPS.Engine.Unattended;

/// <summary>
/// The one entry point for scheduled resumes on this operating system: Windows Task Scheduler or systemd.
/// Every task it returns carries the last outcome recorded in its run's kohyaps.log.
/// </summary>
public sealed class TrainingTaskScheduler
{
    private readonly SystemdRegistrar _systemd;

    public TrainingTaskScheduler(SystemdRegistrar? systemd = null) => _systemd = systemd ?? new SystemdRegistrar();

    /// <summary>On Linux, -User makes a system unit (in /etc/systemd/system, User=) rather than a user unit.</summary>
    public static bool SystemScope(string? user) =>
        user is not null && !string.Equals(user, Environment.UserName, StringComparison.Ordinal);

    /// <summary>Exactly what would be registered: the task XML, or the unit texts (for -WhatIf).</summary>
    public string Preview(TrainingTaskDefinition task, bool systemScope)
    {
        EnsureSupported();
        return OperatingSystem.IsWindows() ? TaskXml.Build(task) : SystemdUnits.Build(task, systemScope).Combined;
    }

    /// <summary>Where the task goes (task path or unit file).</summary>
    public string LocationOf(TrainingTaskDefinition task, bool systemScope) =>
        OperatingSystem.IsWindows() ? TaskXml.TaskPath(task.Name) : Path.Combine(_systemd.DirectoryFor(systemScope), SystemdUnits.ServiceName(task.Name));

    public KohyaTrainingTaskInfo Register(TrainingTaskDefinition task, bool systemScope, bool force, Action<string> warn)
    {
        EnsureSupported();
        var info = OperatingSystem.IsWindows() ? ScheduledTaskRegistrar.Register(task, force) : _systemd.Register(task, systemScope, force, warn);
        return WithLastRun(info);
    }

    public IReadOnlyList<KohyaTrainingTaskInfo> List(string? name = null)
    {
        EnsureSupported();
        var found = OperatingSystem.IsWindows() ? ScheduledTaskRegistrar.List(name) : _systemd.List(name);
        return found.Select(WithLastRun).ToList();
    }

    public void Unregister(KohyaTrainingTaskInfo task, Action<string> warn)
    {
        EnsureSupported();
        if (OperatingSystem.IsWindows())
            ScheduledTaskRegistrar.Unregister(task);
        else
            _systemd.Unregister(task, warn);
    }

    /// <summary>Adds the newest line of the run's kohyaps.log (when, outcome, exit code).</summary>
    public static KohyaTrainingTaskInfo WithLastRun(KohyaTrainingTaskInfo info)
    {
        var last = info.RunPath.Length > 0 && Path.IsPathFullyQualified(info.RunPath) ? RunLog.Read(info.RunPath).LastOrDefault() : null;
        if (last is null)
            return info;
        return new KohyaTrainingTaskInfo
        {
            Name = info.Name, RunPath = info.RunPath, Trigger = info.Trigger, At = info.At, RestartOnFailure = info.RestartOnFailure,
            User = info.User, Scheduler = info.Scheduler, Location = info.Location, Executable = info.Executable,
            Arguments = info.Arguments, Definition = info.Definition, State = info.State,
            LastRunUtc = last.TimeUtc, LastOutcome = $"{last.Event} {last.Outcome}", LastExitCode = last.ExitCode,
        };
    }

    private static void EnsureSupported()
    {
        if (!OperatingSystem.IsWindows() && !OperatingSystem.IsLinux())
            throw new KohyaException("SchedulerUnavailable", KohyaErrorKind.NotImplemented,
                "Training tasks are registered with Windows Task Scheduler or systemd; this system has neither (on macOS use a launchd agent that runs the command shown by Register-KohyaTrainingTask -WhatIf on Linux).")
            {
                RecommendedAction = "Run Resume-KohyaTraining -Path <run> -Latest from your own scheduler.",
            };
    }
}
