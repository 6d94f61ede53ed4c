using System.Text.Json;

namespace KohyaPS.Engine.Interop;

/// <summary>OneTrainer's meta.json: <c>{"train_progress": {"epoch", "epoch_step", "epoch_sample", "global_step"}}</c>.</summary>
internal static class OneTrainerMeta
{
    public sealed record Progress(long Epoch, long EpochStep, long EpochSample, long GlobalStep);

    /// <summary>The progress, or null with a reason (no file, not JSON, wrong shape). Never throws for bad content.</summary>
    public static (Progress? Progress, string? Problem) Read(string path)
    {
        if (!File.Exists(path))
            return (null, "meta.json is missing.");
        try
        {
            if (new FileInfo(path).Length > 1 << 20)
                return (null, "meta.json is larger than 1 MiB.");
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("train_progress", out var p) || p.ValueKind != JsonValueKind.Object)
                return (null, "meta.json has no train_progress object.");
            long? Get(string key) => p.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) && n >= 0 ? n : null;
            if (Get("epoch") is { } e && Get("epoch_step") is { } es && Get("epoch_sample") is { } sample && Get("global_step") is { } g)
                return (new Progress(e, es, sample, g), null);
            return (null, "meta.json's train_progress lacks a non-negative integer epoch, epoch_step, epoch_sample or global_step.");
        }
        catch (JsonException ex)
        {
            return (null, $"meta.json is not valid JSON ({ex.Message}).");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, $"meta.json could not be read ({ex.Message}).");
        }
    }
}
