namespace KohyaPS.Contracts;

/// <summary>
/// One optimizer step of a run as its logs record it (Get-KohyaTrainingLog, Watch-KohyaTraining): the step's loss
/// and schedule from <c>logs/train.jsonl</c>, the validation loss measured at that step and the monitor events raised
/// there. Steps are cumulative across resumes; a step a later segment trained again replaces the earlier record.
/// </summary>
public sealed class KohyaTrainingLogRecord
{
    /// <summary>The run's name (its folder name).</summary>
    public string Run { get; init; } = "";

    /// <summary>The run folder; lets a record pipe into commands that take a run.</summary>
    public string RunPath { get; init; } = "";

    /// <summary>Cumulative optimizer step, 1-based.</summary>
    public long Step { get; init; }

    public int Epoch { get; init; }

    public double Loss { get; init; }

    public double LearningRate { get; init; }

    public double GradNorm { get; init; }

    public double SamplesPerSecond { get; init; }

    /// <summary>When the step ended (UTC).</summary>
    public DateTime Time { get; init; }

    /// <summary>The segment (fresh start or one resume) that trained the step.</summary>
    public string Segment { get; init; } = "";

    /// <summary>1 for the fresh start, 2 for the first resume, and so on, in the order the segments began.</summary>
    public int SegmentNumber { get; init; }

    /// <summary>The first step of every segment after the first: training continued here from a checkpoint.</summary>
    public bool IsResumePoint { get; init; }

    /// <summary>A later segment trained this step again (shown only with -IncludeSuperseded).</summary>
    public bool IsSuperseded { get; init; }

    /// <summary>The validation loss (metric val_loss) measured at this step, or null.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>Monitor events (spikes, rollbacks, …) raised at this step.</summary>
    public IReadOnlyList<KohyaTrainingEvent> Events { get; init; } = Array.Empty<KohyaTrainingEvent>();
}
