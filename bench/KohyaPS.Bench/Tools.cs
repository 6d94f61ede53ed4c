using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace KohyaPS.Bench;

/// <summary>A finished external command.</summary>
public sealed record CommandResult(int ExitCode, string StdOut, string StdErr, double Ms);

/// <summary>External commands (dd, openssl, pwsh) and facts about the machine and the process.</summary>
public static partial class Tools
{
    public static CommandResult Run(string file, IEnumerable<string> arguments, int timeoutMs = 600_000)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["LC_ALL"] = "C";
        long t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish in {timeoutMs / 1000} s.");
        }
        process.WaitForExit();
        double ms = StepClock.Ms(t0, Stopwatch.GetTimestamp());
        return new CommandResult(process.ExitCode, stdout.Result, stderr.Result, ms);
    }

    public static CommandResult RunChecked(string file, IEnumerable<string> arguments, int timeoutMs = 600_000)
    {
        var r = Run(file, arguments, timeoutMs);
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {r.ExitCode}: {r.StdErr.Trim()}");
        return r;
    }

    /// <summary>
    /// Writes <paramref name="megabytes"/> MiB of zeros with <c>dd … conv=fdatasync</c> and returns the seconds dd
    /// reports for itself (open to fdatasync done; process start-up excluded).
    /// </summary>
    public static double DdSeconds(string path, long megabytes)
    {
        var r = RunChecked("dd", new[] { "if=/dev/zero", $"of={path}", "bs=1M", $"count={megabytes}", "conv=fdatasync" });
        var m = DdCopied().Match(r.StdErr);
        if (!m.Success) throw new InvalidOperationException("Could not read dd's report: " + r.StdErr.Trim());
        File.Delete(path);
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"copied, ([0-9.eE+-]+) s")]
    private static partial Regex DdCopied();

    /// <summary>Resident set size of this process in bytes (VmRSS).</summary>
    public static long RssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }

    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    public static double LoadAverage1() =>
        double.TryParse(LoadAverage().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;

    public static long DirectoryBytes(string path) =>
        new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    public static string? Which(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
