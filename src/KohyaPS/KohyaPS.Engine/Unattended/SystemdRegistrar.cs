using KohyaPS.Contracts;

namespace KohyaPS.Engine.Unattended;

/// <summary>
/// Installs, lists and removes the systemd units of scheduled resumes. User units go to
/// <c>$XDG_CONFIG_HOME/systemd/user</c> (default <c>~/.config/systemd/user</c>), system units (-User) to
/// <c>/etc/systemd/system</c>. Then <c>systemctl [--user] daemon-reload</c> and <c>enable</c> when systemd
/// can be reached; when it cannot (no systemctl, no user manager, a container), the files are written and
/// a warning gives the commands to run.
/// </summary>
public sealed class SystemdRegistrar
{
    public const string SystemDirectory = "/etc/systemd/system";
    private readonly string _userDirectory;
    private readonly string _systemDirectory;

    public SystemdRegistrar(string? userDirectory = null, string? systemDirectory = null)
    {
        _userDirectory = userDirectory ?? DefaultUserDirectory();
        _systemDirectory = systemDirectory ?? SystemDirectory;
    }

    public static string DefaultUserDirectory()
    {
        string? config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(config) || !Path.IsPathFullyQualified(config))
            config = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(config, "systemd", "user");
    }

    public string DirectoryFor(bool systemScope) => systemScope ? _systemDirectory : _userDirectory;

    public KohyaTrainingTaskInfo Register(TrainingTaskDefinition task, bool systemScope, bool force, Action<string> warn)
    {
        var units = SystemdUnits.Build(task, systemScope);
        string dir = DirectoryFor(systemScope);
        string servicePath = Path.Combine(dir, units.ServiceName);
        if (File.Exists(servicePath) && !force)
            throw new KohyaException("TaskExists", KohyaErrorKind.InvalidOperation,
                $"A training task named '{task.Name}' is already registered ({servicePath}).", target: task.Name)
            {
                RecommendedAction = "Use -Force to replace it, another -Name, or Unregister-KohyaTrainingTask first.",
            };
        try
        {
            Directory.CreateDirectory(dir);
            WriteAtomically(servicePath, units.ServiceText);
            string timerPath = Path.Combine(dir, SystemdUnits.TimerName(task.Name));
            if (units.TimerText is not null)
                WriteAtomically(timerPath, units.TimerText);
            else if (File.Exists(timerPath))
                File.Delete(timerPath); // re-registered without a time: the old timer must not fire
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new KohyaException("TaskRegistrationFailed", KohyaErrorKind.PermissionDenied,
                $"Cannot write the unit to '{dir}': {ex.Message}", ex, dir)
            {
                RecommendedAction = systemScope ? "System units (-User) need root: run pwsh with sudo." : "Check the permissions of your systemd user folder.",
            };
        }
        if (task.Trigger == KohyaTrainingTaskTrigger.AtStartup && !systemScope && !File.Exists(Path.Combine("/var/lib/systemd/linger", Environment.UserName)))
            warn($"A user unit starts with your systemd user manager, which without lingering starts at your first login, not at boot. For a start at boot run: loginctl enable-linger {Environment.UserName}");
        string[] scope = systemScope ? Array.Empty<string>() : new[] { "--user" };
        var reload = Systemctl(scope, "daemon-reload");
        if (reload is not { Succeeded: true })
            warn($"The unit files are in '{dir}', but systemd could not be reached to load them ({Describe(reload)}). Run: systemctl {string.Join(' ', scope.Append("daemon-reload"))}; systemctl {string.Join(' ', scope.Append("enable").Append(units.EnableName))}");
        else if (Systemctl(scope, "enable", units.EnableName) is { Succeeded: false } enable)
            warn($"systemctl enable {units.EnableName} failed: {enable.Message}");
        return Read(servicePath, systemScope) ?? throw new InvalidOperationException($"The unit just written to '{servicePath}' does not read back.");
    }

    /// <summary>The registered tasks (user units, then system units), optionally only the one named.</summary>
    public IEnumerable<KohyaTrainingTaskInfo> List(string? name = null)
    {
        foreach (bool systemScope in new[] { false, true })
        {
            string dir = DirectoryFor(systemScope);
            if (!Directory.Exists(dir))
                continue;
            string pattern = name is null ? SystemdUnits.Prefix + "*.service" : SystemdUnits.ServiceName(name);
            foreach (string file in Directory.EnumerateFiles(dir, pattern).Order(StringComparer.Ordinal))
                if (Read(file, systemScope) is { } info)
                    yield return info;
        }
    }

    /// <summary>Disables (and stops) the units, deletes their files and reloads systemd.</summary>
    public void Unregister(KohyaTrainingTaskInfo task, Action<string> warn)
    {
        bool systemScope = task.Scheduler == "SystemdSystem";
        string[] scope = systemScope ? Array.Empty<string>() : new[] { "--user" };
        string dir = Path.GetDirectoryName(task.Location)!;
        string timer = Path.Combine(dir, SystemdUnits.TimerName(task.Name));
        var units = File.Exists(timer) ? new[] { SystemdUnits.TimerName(task.Name), SystemdUnits.ServiceName(task.Name) } : new[] { SystemdUnits.ServiceName(task.Name) };
        if (Systemctl(scope, new[] { "disable", "--now" }.Concat(units).ToArray()) is { Succeeded: false } disable)
            warn($"systemctl disable failed ({disable.Message}); removing the unit files anyway.");
        File.Delete(task.Location);
        if (File.Exists(timer))
            File.Delete(timer);
        Systemctl(scope, "daemon-reload");
    }

    private KohyaTrainingTaskInfo? Read(string servicePath, bool systemScope)
    {
        string name = Path.GetFileName(servicePath)[SystemdUnits.Prefix.Length..^".service".Length];
        string timerPath = Path.Combine(Path.GetDirectoryName(servicePath)!, SystemdUnits.TimerName(name));
        string? timerText = File.Exists(timerPath) ? File.ReadAllText(timerPath) : null;
        string[] scope = systemScope ? Array.Empty<string>() : new[] { "--user" };
        string unit = timerText is null ? SystemdUnits.ServiceName(name) : SystemdUnits.TimerName(name);
        var enabled = Systemctl(scope, "is-enabled", unit);
        var active = Systemctl(scope, "is-active", SystemdUnits.ServiceName(name));
        string state = enabled is null || enabled.ExitCode < 0 || enabled.Output.Trim().Length == 0
            ? "unknown (systemd not reachable)"
            : $"{enabled.Output.Trim()}, {active?.Output.Trim()}";
        return SystemdUnits.Read(servicePath, File.ReadAllText(servicePath), timerText, systemScope, state);
    }

    /// <summary>Runs systemctl; null when systemd is not usable here (no systemctl, or not the init system).</summary>
    private static ToolResult? Systemctl(string[] scope, params string[] args)
    {
        if (!Directory.Exists("/run/systemd/system"))
            return null; // systemd is not running this machine (a container, WSL without systemd)
        return SchedulerProcess.Run("systemctl", scope.Concat(args), TimeSpan.FromSeconds(30));
    }

    private static string Describe(ToolResult? result) =>
        result is null ? "systemd is not running here" : result.Message;

    private static void WriteAtomically(string path, string text)
    {
        string temp = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
