using System.Text.Json;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// <c>&lt;run&gt;/best.json</c>: which checkpoint has the lowest validation loss so far. Written (temp file, flush,
/// rename) after the checkpoint itself is complete; retention never deletes the checkpoint it names, and
/// Get-KohyaCheckpoint marks it (IsBest).
/// </summary>
public static class BestCheckpoint
{
    public const string FileName = "best.json";

    public sealed record Entry(string Checkpoint, long Step, double ValidationLoss, DateTime TimeUtc);

    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>The recorded best checkpoint's folder name and figures, or null (none yet, or an unreadable file).</summary>
    public static Entry? Read(string runDirectory)
    {
        string path = Path.Combine(runDirectory, FileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<Entry>(File.ReadAllText(path), Options) : null;
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            return null;
        }
    }

    public static void Write(string runDirectory, Entry entry)
    {
        string path = Path.Combine(runDirectory, FileName);
        string temp = path + ".tmp-" + Environment.ProcessId;
        File.Delete(temp);
        DurableFiles.WriteAllText(temp, JsonSerializer.Serialize(entry, Options));
        File.Move(temp, path, overwrite: true);
        DurableFiles.FlushDirectory(runDirectory);
    }
}
