using KohyaPS.Contracts;
using KohyaPS.Engine.Unattended;

namespace KohyaPS.Tests.Unattended;

internal static class UnattendedTestSupport
{
    /// <summary>A definition with awkward but legal paths: spaces, an apostrophe, '&amp;', '$' and '%'.</summary>
    public static TrainingTaskDefinition Definition(KohyaTrainingTaskTrigger trigger = KohyaTrainingTaskTrigger.AtStartup, DateTime? at = null,
        bool restart = false, string user = "BOX\\ann", string? run = null, string name = "cat-lora", bool windows = true) => new()
        {
            Name = name,
            RunPath = run ?? (windows ? @"D:\runs\ann's cat & dog $HOME 100%\" : "/srv/runs/ann's cat & dog $HOME 100%"),
            Trigger = trigger,
            At = at,
            RestartOnFailure = restart,
            User = user,
            Launcher = windows
                ? new PwshLauncher(@"C:\Program Files\PowerShell\7\pwsh.exe", Array.Empty<string>())
                : new PwshLauncher("/usr/bin/dotnet", new[] { "/opt/power shell/pwsh.dll" }),
            ModuleManifest = windows ? @"C:\Program Files\PowerShell\Modules\KohyaPS\0.1.0\KohyaPS.psd1" : "/opt/kohya ps/KohyaPS.psd1",
        };
}
