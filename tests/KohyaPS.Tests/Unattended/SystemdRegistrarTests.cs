using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Unattended;
using static KohyaPS.Tests.Unattended.UnattendedTestSupport;

namespace KohyaPS.Tests.Unattended;

public sealed class SystemdRegistrarTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kohya-units-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private SystemdRegistrar Registrar() => new(Path.Combine(_dir, "user"), Path.Combine(_dir, "system"));

    private TrainingTaskDefinition Task(KohyaTrainingTaskTrigger trigger = KohyaTrainingTaskTrigger.AtLogOn, DateTime? at = null) =>
        Definition(trigger, at, user: Environment.UserName, run: Path.Combine(_dir, "my run"), windows: false);

    [Fact]
    public void Registers_lists_refuses_a_duplicate_replaces_with_force_and_unregisters()
    {
        var registrar = Registrar();
        var warnings = new List<string>();
        var daily = Task(KohyaTrainingTaskTrigger.Daily, new DateTime(2026, 12, 1, 3, 0, 0));
        var info = registrar.Register(daily, systemScope: false, force: false, warnings.Add);
        string service = Path.Combine(_dir, "user", "kohyaps-cat-lora.service");
        string timer = Path.Combine(_dir, "user", "kohyaps-cat-lora.timer");
        Assert.Equal(SystemdUnits.Build(daily, false).ServiceText, File.ReadAllText(service));
        Assert.True(File.Exists(timer));
        Assert.Equal(service, info.Location);
        Assert.Equal(daily.RunPath, Assert.Single(registrar.List()).RunPath);
        if (!Directory.Exists("/run/systemd/system"))
            Assert.Contains(warnings, w => w.Contains("systemctl --user daemon-reload", StringComparison.Ordinal));

        var ex = Assert.Throws<KohyaException>(() => registrar.Register(daily, false, false, warnings.Add));
        Assert.Equal("TaskExists", ex.ErrorId);

        var replaced = registrar.Register(Task(), false, force: true, warnings.Add);
        Assert.Equal(KohyaTrainingTaskTrigger.AtLogOn, replaced.Trigger);
        Assert.False(File.Exists(timer)); // the old timer would still fire: it is removed

        registrar.Unregister(replaced, warnings.Add);
        Assert.False(File.Exists(service));
        Assert.Empty(registrar.List());
    }

    [Fact]
    public void Pwsh_is_found_as_the_process_in_PSHOME_or_as_dotnet_with_pwsh_dll()
    {
        string home = Directory.CreateDirectory(Path.Combine(_dir, "home")).FullName;
        Assert.Equal(new PwshLauncher("/usr/bin/pwsh", Array.Empty<string>()), PwshLauncher.Find(home, "/usr/bin/pwsh", windows: false) with { PrefixArguments = Array.Empty<string>() });
        Assert.Empty(PwshLauncher.Find(home, "/usr/bin/pwsh", windows: false).PrefixArguments);
        File.WriteAllText(Path.Combine(home, "pwsh.dll"), "");
        var viaDotnet = PwshLauncher.Find(home, "/usr/bin/dotnet", windows: false);
        Assert.Equal("/usr/bin/dotnet", viaDotnet.Executable);
        Assert.Equal(new[] { Path.Combine(home, "pwsh.dll") }, viaDotnet.PrefixArguments);
        File.WriteAllText(Path.Combine(home, "pwsh"), "");
        Assert.Equal(Path.Combine(home, "pwsh"), PwshLauncher.Find(home, "/usr/bin/dotnet", windows: false).Executable);
        string none = Directory.CreateDirectory(Path.Combine(_dir, "none")).FullName;
        Assert.Equal("PwshNotFound", Assert.Throws<KohyaException>(() => PwshLauncher.Find(none, "/usr/bin/dotnet", windows: false)).ErrorId);
    }
}
