using System.ComponentModel;
using System.Diagnostics;

namespace KohyaPS.Engine.Unattended;

/// <summary>What a scheduler tool (systemctl, schtasks.exe) said.</summary>
public sealed record ToolResult(int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;

    public string Message => (Error.Trim().Length > 0 ? Error : Output).Trim();
}

/// <summary>Runs a scheduler's command-line tool with arguments passed one by one (no shell, no quoting to get wrong).</summary>
public static class SchedulerProcess
{
    /// <summary>Runs it and waits (up to <paramref name="timeout"/>); null when the tool is not installed.</summary>
    public static ToolResult? Run(string tool, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (string a in arguments)
            psi.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"'{tool}' did not start.");
        }
        catch (Win32Exception)
        {
            return null;
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                return new ToolResult(-1, "", $"'{tool}' did not finish in time.");
            }
            return new ToolResult(process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
