using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KohyaPS.Bench;

/// <summary>
/// bench/peer/unet_step.py in serve mode: one JSON command per line in, one JSON answer per line out. The
/// process idles on stdin while our side runs, so the two never compete for the cores.
/// </summary>
public sealed class PeerProcess : IDisposable
{
    private readonly Process _process;

    public PeerProcess(string python, string script)
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("--serve");
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}.");
    }

    public JsonObject Send(object command)
    {
        _process.StandardInput.WriteLine(JsonSerializer.Serialize(command));
        _process.StandardInput.Flush();
        string? line = _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException("The PyTorch peer exited without answering.");
        var answer = JsonNode.Parse(line)!.AsObject();
        if (answer["error"] is { } error)
            throw new InvalidOperationException("PyTorch peer: " + error);
        return answer;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("{\"cmd\": \"quit\"}");
                _process.StandardInput.Close();
                if (!_process.WaitForExit(5000)) _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
