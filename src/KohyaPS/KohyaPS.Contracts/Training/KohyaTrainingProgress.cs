namespace KohyaPS.Contracts;

/// <summary>A snapshot of a running training, reported after every optimizer step.</summary>
public sealed class KohyaTrainingProgress
{
    public string RunName { get; init; } = "";
    public long Step { get; init; }
    public long TargetStep { get; init; }
    public long StartStep { get; init; }
    public int Epoch { get; init; }
    public double Loss { get; init; }
    public double SmoothedLoss { get; init; }
    public double LearningRate { get; init; }
    public double StepsPerSecond { get; init; }
    public TimeSpan Elapsed { get; init; }
    public TimeSpan? Remaining { get; init; }

    /// <summary>The <see cref="Phase"/> while a latent model's images are encoded into the latent cache (Step/TargetStep count images).</summary>
    public const string CachingLatentsPhase = "Caching latents";

    /// <summary>What the trainer is doing: Preparing, Caching latents, Training, Saving, Stopping.</summary>
    public string Phase { get; init; } = "Training";

    public int PercentComplete =>
        TargetStep <= StartStep ? 100 : (int)Math.Clamp(100.0 * (Step - StartStep) / (TargetStep - StartStep), 0, 100);
}
