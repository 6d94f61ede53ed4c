namespace KohyaPS.Bench;

public sealed class ShellFigures
{
    public Series ImportMs { get; } = new();
    public Series BareMs { get; } = new();
    public Series ImportOverBare => Series.Ratio(ImportMs, BareMs);
}

/// <summary>
/// A fresh pwsh importing the built module and calling Get-KohyaEnvironment (native libtorch load included),
/// against the same fresh pwsh doing nothing, interleaved.
/// </summary>
public static class ShellBench
{
    public static ShellFigures Measure(string pwsh, string manifest, int rounds, Action<string> log)
    {
        var figures = new ShellFigures();
        (string file, string[] prefix) = pwsh.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? ("dotnet", new[] { pwsh })
            : (pwsh, Array.Empty<string>());
        string[] Args(string command) => prefix.Concat(new[] { "-NoProfile", "-NonInteractive", "-Command", command }).ToArray();
        string import = $"Import-Module '{manifest.Replace("'", "''", StringComparison.Ordinal)}'; $null = Get-KohyaEnvironment";

        Tools.RunChecked(file, Args(import)); // first start warms the disk cache for both
        for (int r = 0; r < rounds; r++)
        {
            figures.BareMs.Add(Tools.RunChecked(file, Args("exit 0")).Ms);
            figures.ImportMs.Add(Tools.RunChecked(file, Args(import)).Ms);
            log($"  pwsh round {r + 1}/{rounds}: Import-Module + Get-KohyaEnvironment {figures.ImportMs.Values[^1]:0} ms, bare pwsh {figures.BareMs.Values[^1]:0} ms");
        }
        return figures;
    }
}
