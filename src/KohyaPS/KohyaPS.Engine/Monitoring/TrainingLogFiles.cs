using System.Text.Json;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Monitoring;

/// <summary>The log files of a run folder and how their lines read back.</summary>
public static class TrainingLogFiles
{
    public const string Folder = "logs";

    public static string TrainLog(string run) => Path.Combine(run, Folder, LossLogHook.FileName);
    public static string MetricLog(string run) => Path.Combine(run, Folder, MetricLogHook.FileName);
    public static string EventLog(string run) => Path.Combine(run, Folder, EventLogHook.FileName);
    public static string SegmentLog(string run) => Path.Combine(run, Folder, SegmentLogHook.FileName);

    /// <summary>Checks that <paramref name="run"/> is a run folder with a loss log; returns its full path.</summary>
    public static string RequireRun(string run)
    {
        string full = Path.GetFullPath(run);
        if (!Directory.Exists(full))
            throw new KohyaException("RunNotFound", KohyaErrorKind.ObjectNotFound, $"Run folder '{full}' does not exist.", target: full)
            {
                RecommendedAction = "Give the folder a training was started in (its -OutputPath), or pipe a checkpoint from Get-KohyaCheckpoint.",
            };
        if (!File.Exists(TrainLog(full)))
            throw new KohyaException("TrainingLogNotFound", KohyaErrorKind.ObjectNotFound,
                $"'{full}' has no training log ({Path.Combine(Folder, LossLogHook.FileName)}): no step has been trained there yet, or it is not a run folder.", target: full)
            {
                RecommendedAction = "Check the path; a run writes its log from its first step on.",
            };
        return full;
    }

    /// <summary>A run folder given itself, one of its checkpoints (<c>&lt;run&gt;/checkpoints/&lt;name&gt;</c>) or its logs folder.</summary>
    public static string RunOf(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (File.Exists(TrainLog(full)) || !Directory.Exists(full))
            return full;
        string? parent = Path.GetDirectoryName(full);
        if (parent is not null && string.Equals(Path.GetFileName(full), Folder, StringComparison.Ordinal) && File.Exists(TrainLog(parent)))
            return parent;
        string? grand = parent is null ? null : Path.GetDirectoryName(parent);
        if (grand is not null && string.Equals(Path.GetFileName(parent), Checkpoints.CheckpointNames.Folder, StringComparison.Ordinal))
            return grand;
        return full;
    }

    /// <summary>One line of train.jsonl.</summary>
    internal static StepLine ParseStep(JsonElement e) => new(
        JsonLinesReader.Int64(e, "step"), (int)JsonLinesReader.Int64(e, "epoch"), JsonLinesReader.Double(e, "loss"),
        JsonLinesReader.Double(e, "lr"), JsonLinesReader.Double(e, "grad_norm"), JsonLinesReader.Double(e, "samples_per_second", 0),
        JsonLinesReader.Time(e, "time"), JsonLinesReader.String(e, "segment"));

    /// <summary>One line of events.jsonl.</summary>
    public static KohyaTrainingEvent ParseEvent(JsonElement e) => new()
    {
        Step = JsonLinesReader.Int64(e, "step"),
        Time = JsonLinesReader.Time(e, "time"),
        Segment = JsonLinesReader.String(e, "segment"),
        Kind = JsonLinesReader.String(e, "kind"),
        Action = JsonLinesReader.String(e, "action"),
        Message = JsonLinesReader.String(e, "message"),
        Value = e.TryGetProperty("value", out _) ? JsonLinesReader.Double(e, "value") : null,
        Threshold = e.TryGetProperty("threshold", out _) ? JsonLinesReader.Double(e, "threshold") : null,
    };

    /// <summary>Every complete line of a log, parsed (a missing file has none).</summary>
    internal static IEnumerable<JsonElement> Lines(string path)
    {
        var lines = JsonLinesReader.ReadComplete(path);
        for (int i = 0; i < lines.Count; i++)
            yield return JsonLinesReader.Parse(lines[i], path, i + 1);
    }
}

/// <summary>A train.jsonl line.</summary>
internal readonly record struct StepLine(long Step, int Epoch, double Loss, double LearningRate, double GradNorm, double SamplesPerSecond, DateTime Time, string Segment);
