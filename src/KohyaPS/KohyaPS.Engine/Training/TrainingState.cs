namespace KohyaPS.Engine.Training;

/// <summary>
/// Where a run stands, everything needed with the weights and optimizer state to continue it exactly:
/// the cumulative optimizer step, and the position in the data as (epoch, batch index). Every random draw
/// of step s derives from (Seed, s) and augmentation from (Seed, epoch, batch, position), so no generator
/// state needs carrying beyond these numbers.
/// </summary>
public sealed class TrainingState
{
    /// <summary>Optimizer steps done, cumulative across resumes.</summary>
    public long GlobalStep { get; set; }

    /// <summary>The epoch the next micro-batch comes from (0-based).</summary>
    public int Epoch { get; set; }

    /// <summary>The index of the next micro-batch inside <see cref="Epoch"/>.</summary>
    public int BatchInEpoch { get; set; }

    /// <summary>Micro-batches consumed, cumulative.</summary>
    public long MicroBatches { get; set; }

    /// <summary>Images seen, cumulative.</summary>
    public long SamplesSeen { get; set; }

    public TrainingState Clone() => (TrainingState)MemberwiseClone();
}
