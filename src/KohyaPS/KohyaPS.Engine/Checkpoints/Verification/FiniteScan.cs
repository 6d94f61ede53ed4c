using KohyaPS.Engine.Checkpoints.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Checkpoints.Verification;

/// <summary>-Deep: reads every tensor of a file (one at a time) and counts NaN and infinite values.</summary>
internal static class FiniteScan
{
    public static void Run(string path, string check, string errorId, CheckList checks, ByteProgress progress, CancellationToken cancellation)
    {
        var bad = new List<string>();
        long badValues = 0, scanned = 0;
        try
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var entry in file.Entries)
            {
                cancellation.ThrowIfCancellationRequested();
                if (entry.ScalarType is not { } type)
                {
                    progress.Add(entry.ByteLength);
                    continue; // F8/F6/F4 and unsigned wide types: TorchSharp cannot hold them; the header was checked
                }
                using var scope = torch.NewDisposeScope();
                var t = file.ReadTensor(entry.Name);
                scanned++;
                if (t.is_floating_point())
                {
                    long n = (~torch.isfinite(t)).sum().item<long>();
                    if (n > 0)
                    {
                        bad.Add($"{entry.Name} ({n})");
                        badValues += n;
                    }
                }
                progress.Add(entry.ByteLength);
            }
        }
        catch (KohyaException ex)
        {
            checks.Fail(check, ex);
            return;
        }
        catch (IOException ex)
        {
            checks.Fail(check, "CheckpointFileUnreadable", ex.Message);
            return;
        }
        if (bad.Count == 0)
            checks.Pass(check, $"{scanned} tensors read, every value finite.");
        else
            checks.Fail(check, errorId, $"{badValues} NaN/Inf values in {bad.Count} tensors: {string.Join(", ", bad.Take(5))}{(bad.Count > 5 ? " …" : "")}.");
    }
}
