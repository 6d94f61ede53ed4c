namespace KohyaPS.Contracts;

/// <summary>What a training run (or a resumed segment of one) did.</summary>
public sealed class KohyaTrainingResult
{
    public string RunName { get; init; } = "";
    public string OutputPath { get; init; } = "";
    public long StartStep { get; init; }
    public long FinalStep { get; init; }
    public long TargetStep { get; init; }
    public int FinalEpoch { get; init; }

    /// <summary>Mean loss of the first logged steps of this segment.</summary>
    public double InitialLoss { get; init; }

    /// <summary>Mean loss of the last logged steps of this segment.</summary>
    public double FinalLoss { get; init; }

    public TimeSpan Duration { get; init; }
    public double StepsPerSecond { get; init; }

    /// <summary>Completed, Stopped or AlreadyComplete.</summary>
    public string Status { get; init; } = "Completed";

    public string LogPath { get; init; } = "";

    /// <summary>The newest checkpoint written by this segment, if any.</summary>
    public string? LatestCheckpoint { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>What the loss guards and validation noticed or did in this segment (also in logs/events.jsonl).</summary>
    public IReadOnlyList<KohyaTrainingEvent> Events { get; init; } = Array.Empty<KohyaTrainingEvent>();

    /// <summary>Rollbacks of the run so far (cumulative across resumes).</summary>
    public int Rollbacks { get; init; }

    /// <summary>The factor the rollbacks so far apply to the scheduled learning rate (1 without any).</summary>
    public double LearningRateScale { get; init; } = 1;

    public double? BestValidationLoss { get; init; }

    public long? BestValidationStep { get; init; }

    /// <summary>Why a Stopped run stopped (cancelled, a stop request, early stopping, a guard), null otherwise.</summary>
    public string? StopReason { get; init; }
}
