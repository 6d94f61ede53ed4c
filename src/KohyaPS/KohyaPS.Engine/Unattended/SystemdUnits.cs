using System.Globalization;
using System.Text;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Unattended;

/// <summary>The unit files of a scheduled resume: the service, and a timer for Daily and Once.</summary>
public sealed record SystemdUnitSet(string ServiceName, string ServiceText, string? TimerName, string? TimerText)
{
    /// <summary>The unit that is enabled: the timer when there is one, else the service.</summary>
    public string EnableName => TimerName ?? ServiceName;

    /// <summary>Both texts, each under a "# file" line: what -WhatIf shows and Definition carries.</summary>
    public string Combined => TimerText is null ? ServiceText : $"{ServiceText}\n{TimerText}";
}

/// <summary>
/// systemd units for a scheduled resume. The service runs the resume command with SIGTERM as its stop
/// signal (the cmdlet saves a checkpoint and exits on SIGTERM) and five minutes to do so. With
/// RestartOnFailure it restarts after failures, but never after the exit codes that restarting cannot
/// fix (locked, nothing to resume, invalid checkpoint, refused drift) nor after a deliberate stop.
/// Settings KohyaPS reads back are kept in X-KohyaPS* keys, which systemd ignores.
/// </summary>
public static class SystemdUnits
{
    public const string Prefix = "kohyaps-";
    private const string RunKey = "X-KohyaPSRun=";
    private const string TriggerKey = "X-KohyaPSTrigger=";
    private const string AtKey = "X-KohyaPSAt=";

    public static string ServiceName(string name) => Prefix + name + ".service";

    public static string TimerName(string name) => Prefix + name + ".timer";

    /// <summary>The exit codes after which a restart would only fail again (or undo a deliberate stop).</summary>
    public static IReadOnlyList<int> NoRestartCodes { get; } = new[]
    {
        KohyaExitCode.RunLocked, KohyaExitCode.NothingToResume, KohyaExitCode.CheckpointInvalid,
        KohyaExitCode.HyperparameterDriftRefused, KohyaExitCode.DatasetChangeRefused, KohyaExitCode.Stopped,
    }.Select(c => (int)c).ToList();

    /// <param name="task">The definition.</param>
    /// <param name="systemScope">A system unit (runs as task.User) rather than a user unit.</param>
    public static SystemdUnitSet Build(TrainingTaskDefinition task, bool systemScope)
    {
        task.Validate();
        if (task.Trigger == KohyaTrainingTaskTrigger.AtLogOn && systemScope)
            throw new KohyaException("TriggerNotSupported", KohyaErrorKind.InvalidArgument,
                "AtLogOn is a user unit (started by the user's systemd manager at the first login); it cannot run as another -User.", target: "Trigger")
            {
                RecommendedAction = "Register it as that user without -User, or use AtStartup.",
            };
        bool timed = task.At is not null;
        string service = ServiceName(task.Name);
        var s = new StringBuilder();
        s.Append("# ").Append(service).Append(" — written by Register-KohyaTrainingTask; remove it with Unregister-KohyaTrainingTask -Name ").Append(task.Name).Append('\n');
        s.Append("[Unit]\n");
        s.Append("Description=KohyaPS: resume training of ").Append(ResumeCommand.SystemdValue(task.RunPath)).Append('\n');
        s.Append(RunKey).Append(task.RunPath).Append('\n');
        s.Append(TriggerKey).Append(task.Trigger).Append('\n');
        if (timed)
            s.Append(AtKey).Append(task.At!.Value.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)).Append('\n');
        if (task.RestartOnFailure)
        {
            // Count restarts inside a window a little longer than Count × interval, as Task Scheduler does.
            long window = (long)(TrainingTaskDefinition.RestartInterval.TotalSeconds * (TrainingTaskDefinition.RestartCount + 1));
            s.Append("StartLimitIntervalSec=").Append(window.ToString(CultureInfo.InvariantCulture)).Append('\n');
            s.Append("StartLimitBurst=").Append((TrainingTaskDefinition.RestartCount + 1).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        s.Append('\n').Append("[Service]\n");
        s.Append("Type=exec\n");
        if (systemScope)
            s.Append("User=").Append(task.User).Append('\n');
        s.Append("WorkingDirectory=").Append(ResumeCommand.SystemdValue(task.RunPath)).Append('\n');
        s.Append("ExecStart=").Append(string.Join(' ', new[] { task.Launcher.Executable }.Concat(task.Arguments).Select(ResumeCommand.SystemdWord))).Append('\n');
        s.Append("KillSignal=SIGTERM\n");
        s.Append("TimeoutStopSec=300\n");
        if (task.RestartOnFailure)
        {
            s.Append("Restart=on-failure\n");
            s.Append("RestartSec=").Append(((long)TrainingTaskDefinition.RestartInterval.TotalSeconds).ToString(CultureInfo.InvariantCulture)).Append('\n');
            s.Append("RestartPreventExitStatus=").Append(string.Join(' ', NoRestartCodes)).Append('\n');
        }
        if (!timed)
        {
            s.Append('\n').Append("[Install]\n");
            s.Append("WantedBy=").Append(systemScope ? "multi-user.target" : "default.target").Append('\n');
        }
        if (!timed)
            return new SystemdUnitSet(service, s.ToString(), null, null);

        string timer = TimerName(task.Name);
        var t = new StringBuilder();
        t.Append("# ").Append(timer).Append(" — written by Register-KohyaTrainingTask\n");
        t.Append("[Unit]\n");
        t.Append("Description=KohyaPS: when to resume training of ").Append(ResumeCommand.SystemdValue(task.RunPath)).Append('\n');
        t.Append('\n').Append("[Timer]\n");
        t.Append("OnCalendar=").Append(task.Trigger == KohyaTrainingTaskTrigger.Daily
            ? task.At!.Value.ToString("*-*-* HH:mm:ss", CultureInfo.InvariantCulture)
            : task.At!.Value.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Append('\n');
        t.Append("Persistent=true\n");
        t.Append("Unit=").Append(service).Append('\n');
        t.Append('\n').Append("[Install]\n");
        t.Append("WantedBy=timers.target\n");
        return new SystemdUnitSet(service, s.ToString(), timer, t.ToString());
    }

    /// <summary>Reads a service unit written by <see cref="Build"/>; null when it is not one of ours.</summary>
    public static KohyaTrainingTaskInfo? Read(string servicePath, string serviceText, string? timerText, bool systemScope, string state)
    {
        string file = Path.GetFileName(servicePath);
        if (!file.StartsWith(Prefix, StringComparison.Ordinal) || !file.EndsWith(".service", StringComparison.Ordinal))
            return null;
        string? run = null, trigger = null, at = null, user = null, exec = null;
        bool restart = false;
        foreach (string raw in serviceText.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith(RunKey, StringComparison.Ordinal)) run = line[RunKey.Length..];
            else if (line.StartsWith(TriggerKey, StringComparison.Ordinal)) trigger = line[TriggerKey.Length..];
            else if (line.StartsWith(AtKey, StringComparison.Ordinal)) at = line[AtKey.Length..];
            else if (line.StartsWith("User=", StringComparison.Ordinal)) user = line[5..];
            else if (line.StartsWith("ExecStart=", StringComparison.Ordinal)) exec = line[10..];
            else if (line == "Restart=on-failure") restart = true;
        }
        if (run is null || exec is null || !Enum.TryParse<KohyaTrainingTaskTrigger>(trigger, out var kind))
            return null;
        var words = SplitExecStart(exec);
        return new KohyaTrainingTaskInfo
        {
            Name = file[Prefix.Length..^".service".Length],
            RunPath = run,
            Trigger = kind,
            At = DateTime.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.None, out var when) ? when : null,
            RestartOnFailure = restart,
            User = user ?? Environment.UserName,
            Scheduler = systemScope ? "SystemdSystem" : "SystemdUser",
            Location = servicePath,
            Executable = words.Count > 0 ? words[0] : "",
            Arguments = words.Skip(1).ToList(),
            Definition = timerText is null ? serviceText : serviceText + "\n" + timerText,
            State = state,
        };
    }

    /// <summary>Splits an ExecStart line written by <see cref="Build"/> back into its words (quotes, C escapes, $$ and %%).</summary>
    public static IReadOnlyList<string> SplitExecStart(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        bool inQuotes = false, any = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (inQuotes && c == '\\' && i + 1 < line.Length) { current.Append(line[++i]); continue; }
            if (c == '"') { inQuotes = !inQuotes; any = true; continue; }
            if ((c == '$' || c == '%') && i + 1 < line.Length && line[i + 1] == c) { current.Append(c); i++; any = true; continue; }
            if (c == ' ' && !inQuotes)
            {
                if (any) { words.Add(current.ToString()); current.Clear(); any = false; }
                continue;
            }
            current.Append(c);
            any = true;
        }
        if (any) words.Add(current.ToString());
        return words;
    }
}
