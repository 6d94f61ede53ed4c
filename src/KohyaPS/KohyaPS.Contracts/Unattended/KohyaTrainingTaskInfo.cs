namespace KohyaPS.Contracts;

/// <summary>
/// A registered unattended resume of a run: a Windows scheduled task or a systemd unit. Carries the exact
/// definition (task XML or unit text) and the exact command it runs, and — from the run's
/// <c>logs/kohyaps.log</c> — how the last start or resume of the run ended.
/// </summary>
public sealed class KohyaTrainingTaskInfo
{
    /// <summary>The task's name (Windows: under the task folder \KohyaPS\; systemd: kohyaps-&lt;name&gt;.service).</summary>
    public string Name { get; init; } = "";

    /// <summary>The run folder the task resumes.</summary>
    public string RunPath { get; init; } = "";

    public KohyaTrainingTaskTrigger Trigger { get; init; }

    /// <summary>The start time of a Daily or Once trigger (local time).</summary>
    public DateTime? At { get; init; }

    public bool RestartOnFailure { get; init; }

    /// <summary>The account it runs as.</summary>
    public string User { get; init; } = "";

    /// <summary>ScheduledTask, SystemdUser or SystemdSystem.</summary>
    public string Scheduler { get; init; } = "";

    /// <summary>The task path (\KohyaPS\name) or the unit file.</summary>
    public string Location { get; init; } = "";

    /// <summary>The program the task starts.</summary>
    public string Executable { get; init; } = "";

    /// <summary>The program's arguments, one element each (what the program receives).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = Array.Empty<string>();

    /// <summary>The task XML, or the service unit text followed by the timer unit text when there is one.</summary>
    public string Definition { get; init; } = "";

    /// <summary>What the scheduler says (Ready, Running, Disabled; enabled/disabled, active/inactive), when it could be asked.</summary>
    public string State { get; init; } = "";

    /// <summary>The newest line of the run's kohyaps.log: when, what and how it ended.</summary>
    public DateTime? LastRunUtc { get; init; }
    public string LastOutcome { get; init; } = "";
    public int? LastExitCode { get; init; }
}
