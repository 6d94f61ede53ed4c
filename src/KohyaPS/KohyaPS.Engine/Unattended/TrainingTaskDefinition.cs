using System.Text.RegularExpressions;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Unattended;

/// <summary>
/// Everything a scheduled resume of a run needs, independent of the scheduler: validated up front, then
/// rendered as task XML (<see cref="TaskXml"/>) or systemd units (<see cref="SystemdUnits"/>).
/// </summary>
public sealed partial class TrainingTaskDefinition
{
    /// <summary>Minimum delay after boot before the task starts, so drivers (the GPU's among them) are up.</summary>
    public static readonly TimeSpan BootDelay = TimeSpan.FromMinutes(1);

    /// <summary>How often and how far apart a failed task is restarted (-RestartOnFailure).</summary>
    public const int RestartCount = 3;
    public static readonly TimeSpan RestartInterval = TimeSpan.FromMinutes(5);

    public required string Name { get; init; }
    public required string RunPath { get; init; }
    public KohyaTrainingTaskTrigger Trigger { get; init; }
    public DateTime? At { get; init; }
    public bool RestartOnFailure { get; init; }

    /// <summary>The account: DOMAIN\user, a local user name, or SYSTEM (Windows); a user name (systemd).</summary>
    public required string User { get; init; }

    /// <summary>The pwsh to start: the executable and any arguments before pwsh's own (dotnet pwsh.dll).</summary>
    public required PwshLauncher Launcher { get; init; }

    /// <summary>The KohyaPS module manifest the task imports (absolute path).</summary>
    public required string ModuleManifest { get; init; }

    /// <summary>The PowerShell command the task runs (for -Command).</summary>
    public string PowerShellCommand => ResumeCommand.Build(ModuleManifest, RunPath);

    /// <summary>The program's arguments, one element each.</summary>
    public IReadOnlyList<string> Arguments =>
        Launcher.PrefixArguments.Concat(new[] { "-NoProfile", "-NonInteractive", "-Command", PowerShellCommand }).ToList();

    /// <summary>Checks the definition; throws a KohyaException naming the problem.</summary>
    public void Validate()
    {
        if (!NamePattern().IsMatch(Name))
            throw new KohyaException("InvalidTaskName", KohyaErrorKind.InvalidArgument,
                $"'{Name}' is not a usable task name: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.", target: Name)
            {
                RecommendedAction = "Give -Name a simple name such as cat-lora.",
            };
        if (!Path.IsPathFullyQualified(RunPath) && !WindowsAbsolute().IsMatch(RunPath))
            throw new ArgumentException($"The run path '{RunPath}' must be absolute.", nameof(RunPath));
        foreach (var (what, value) in new[] { ("run path", RunPath), ("module path", ModuleManifest), ("pwsh path", Launcher.Executable) })
            if (value.IndexOfAny(new[] { '\r', '\n', '\0' }) >= 0)
                throw new KohyaException("InvalidTaskPath", KohyaErrorKind.InvalidArgument, $"The {what} contains a line break or NUL, which no scheduler can carry.", target: value);
        bool timed = Trigger is KohyaTrainingTaskTrigger.Daily or KohyaTrainingTaskTrigger.Once;
        if (timed && At is null)
            throw new KohyaException("TaskTimeRequired", KohyaErrorKind.InvalidArgument,
                $"A {Trigger} trigger needs a time: give -At.", target: "At")
            {
                RecommendedAction = "For example -At '02:00' (today's date is used for Daily) or -At '2026-12-01 02:00'.",
            };
        if (!timed && At is not null)
            throw new KohyaException("TaskTimeNotApplicable", KohyaErrorKind.InvalidArgument,
                $"-At applies to Daily and Once triggers, not to {Trigger}.", target: "At");
    }

    /// <summary>A task name made from a run folder's name: letters, digits, '.', '_' and '-' kept, the rest '-'.</summary>
    public static string DefaultName(string runPath)
    {
        string leaf = Path.GetFileName(Path.TrimEndingDirectorySeparator(runPath));
        string cleaned = UnsafeChars().Replace(leaf, "-").Trim('-', '.');
        if (cleaned.Length == 0)
            cleaned = "run";
        return cleaned.Length > 100 ? cleaned[..100] : cleaned;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex NamePattern();

    /// <summary>A drive-rooted or UNC Windows path (task XML can be generated, and tested, on any system).</summary>
    [GeneratedRegex(@"^([A-Za-z]:\\|\\\\[^\\]+\\)")]
    private static partial Regex WindowsAbsolute();

    [GeneratedRegex("[^A-Za-z0-9._-]+")]
    private static partial Regex UnsafeChars();
}

/// <summary>How to start pwsh: its executable, or dotnet with pwsh.dll (the dotnet tool).</summary>
public sealed record PwshLauncher(string Executable, IReadOnlyList<string> PrefixArguments)
{
    /// <summary>
    /// Picks the pwsh that is running now: the process itself when it is pwsh, pwsh(.exe) in $PSHOME, or
    /// dotnet with $PSHOME/pwsh.dll (PowerShell run as a dotnet tool).
    /// </summary>
    public static PwshLauncher Find(string psHome, string? processPath, bool windows)
    {
        string exe = windows ? "pwsh.exe" : "pwsh";
        if (processPath is not null && string.Equals(Path.GetFileName(processPath), exe, windows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            return new PwshLauncher(processPath, Array.Empty<string>());
        string inHome = Path.Combine(psHome, exe);
        if (File.Exists(inHome))
            return new PwshLauncher(inHome, Array.Empty<string>());
        string dll = Path.Combine(psHome, "pwsh.dll");
        if (processPath is not null && File.Exists(dll))
            return new PwshLauncher(processPath, new[] { dll });
        throw new KohyaException("PwshNotFound", KohyaErrorKind.ObjectNotFound,
            $"Cannot tell which pwsh to start: no {exe} in '{psHome}' and this process is not pwsh.", target: psHome)
        {
            RecommendedAction = "Register the task from a pwsh 7.6 session.",
        };
    }
}
