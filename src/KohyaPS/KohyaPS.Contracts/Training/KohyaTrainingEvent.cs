namespace KohyaPS.Contracts;

/// <summary>
/// Something a training monitor noticed or did (non-finite loss, loss spike, jump after a resume,
/// plateau, rollback, early stop, new best validation loss). Every event is also a warning or verbose
/// line, a record in <c>&lt;run&gt;/logs/events.jsonl</c> and part of the run's result object.
/// </summary>
public sealed class KohyaTrainingEvent
{
    /// <summary>The cumulative optimizer step the event belongs to.</summary>
    public long Step { get; init; }

    public DateTime Time { get; init; }

    /// <summary>The segment (fresh start or resume) that raised it.</summary>
    public string Segment { get; init; } = "";

    /// <summary>NonFinite, Spike, ResumeJump, Plateau, Rollback, EarlyStop, BestValidation.</summary>
    public string Kind { get; init; } = "";

    /// <summary>What was done: Warn, Skip, Rollback, Stop or None.</summary>
    public string Action { get; init; } = "";

    public string Message { get; init; } = "";

    /// <summary>The measured value (loss, z-score, …), when there is one.</summary>
    public double? Value { get; init; }

    /// <summary>The threshold the value was compared with, when there is one.</summary>
    public double? Threshold { get; init; }
}
