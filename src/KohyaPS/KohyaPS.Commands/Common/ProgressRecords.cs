using System.Globalization;
using System.Management.Automation;
using KohyaPS.Contracts;

namespace KohyaPS.Commands.Common;

/// <summary>Training progress as a PowerShell progress bar: step, loss, it/s and ETA in the status.</summary>
internal static class ProgressRecords
{
    public const int TrainingActivityId = 4711;
    public const int CheckActivityId = 4712;

    /// <summary>A byte-count progress bar (hashing, scanning) for <paramref name="activity"/>.</summary>
    public static ProgressRecord Bytes(int id, string activity, string stage, long done, long total)
    {
        int percent = total <= 0 ? 0 : (int)Math.Clamp(done * 100 / total, 0, 100);
        return new ProgressRecord(id, activity, FormattableString.Invariant($"{stage}: {done / 1048576.0:0} of {total / 1048576.0:0} MiB"))
        {
            PercentComplete = percent,
        };
    }

    public static ProgressRecord Completed(int id, string activity) =>
        new(id, activity, "Done") { RecordType = ProgressRecordType.Completed };

    public static ProgressRecord From(KohyaTrainingProgress p)
    {
        var record = new ProgressRecord(TrainingActivityId, $"Training {p.RunName}", Status(p))
        {
            PercentComplete = p.PercentComplete,
            CurrentOperation = p.Phase,
        };
        if (p.Remaining is { } remaining)
            record.SecondsRemaining = (int)Math.Min(int.MaxValue, remaining.TotalSeconds);
        if (p.Phase == "Completed")
            record.RecordType = ProgressRecordType.Completed;
        return record;
    }

    private static string Status(KohyaTrainingProgress p)
    {
        if (p.Phase == KohyaTrainingProgress.CachingLatentsPhase)
            return FormattableString.Invariant($"encoding latents into the cache: {p.Step} of {p.TargetStep} images");
        string status = FormattableString.Invariant(
            $"step {p.Step}/{p.TargetStep}  epoch {p.Epoch}  loss {p.SmoothedLoss:0.0000}  lr {p.LearningRate:0.###e+0}  {p.StepsPerSecond:0.00} it/s");
        return p.Remaining is { } r ? status + "  ETA " + r.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : status;
    }
}
