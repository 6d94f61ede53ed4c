namespace KohyaPS.Engine.Precision;

/// <summary>
/// The loss scale of float16 training: the loss is multiplied by <see cref="Scale"/> before backward so small
/// gradients survive float16, and the gradients are divided by it again in float32. A step whose gradients come out
/// non-finite overflowed: it is skipped and the scale backs off; after <see cref="GrowthInterval"/> good steps in a
/// row the scale grows. Scales are powers of two, so scaling and unscaling are exact.
/// </summary>
public sealed class DynamicLossScaler
{
    public const double DefaultInitialScale = 65536;
    public const int DefaultGrowthInterval = 2000;
    public const double DefaultBackoff = 0.5;
    public const double DefaultGrowth = 2;

    /// <summary>Below this scale an overflow is not the scale's fault: the step counts as a blow-up.</summary>
    public const double MinimumScale = 1;

    public DynamicLossScaler(double initialScale = DefaultInitialScale, int growthInterval = DefaultGrowthInterval,
        double backoff = DefaultBackoff, double growth = DefaultGrowth)
    {
        if (!(initialScale >= MinimumScale) || !double.IsFinite(initialScale))
            throw new ArgumentOutOfRangeException(nameof(initialScale), initialScale, $"The scale must be at least {MinimumScale}.");
        if (growthInterval < 1)
            throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval, "The growth interval must be at least 1.");
        if (!(backoff > 0 && backoff < 1))
            throw new ArgumentOutOfRangeException(nameof(backoff), backoff, "The backoff must be between 0 and 1.");
        if (!(growth > 1) || !double.IsFinite(growth))
            throw new ArgumentOutOfRangeException(nameof(growth), growth, "The growth factor must be above 1.");
        Scale = initialScale;
        GrowthInterval = growthInterval;
        Backoff = backoff;
        Growth = growth;
    }

    public double Scale { get; private set; }
    public int GrowthInterval { get; }
    public double Backoff { get; }
    public double Growth { get; }

    /// <summary>Good (finite) steps since the last change of the scale.</summary>
    public int GoodSteps { get; private set; }

    /// <summary>Overflows so far in this process (not saved: a report figure).</summary>
    public long Overflows { get; private set; }

    /// <summary>
    /// True when non-finite gradients are the scale's doing (it is still above <see cref="MinimumScale"/>), so the step
    /// is an overflow to skip rather than a blow-up.
    /// </summary>
    public bool CanBackOff => Scale * Backoff >= MinimumScale;

    /// <summary>Records the outcome of a step: an overflow backs the scale off, a good step may grow it.</summary>
    public void Update(bool overflowed)
    {
        if (overflowed)
        {
            Scale = Math.Max(MinimumScale, Scale * Backoff);
            GoodSteps = 0;
            Overflows++;
            return;
        }
        GoodSteps++;
        if (GoodSteps >= GrowthInterval)
        {
            double grown = Scale * Growth;
            if (double.IsFinite(grown) && grown <= float.MaxValue)
                Scale = grown;
            GoodSteps = 0;
        }
    }

    /// <summary>What a checkpoint's state.json keeps, so a resumed run scales exactly as the uninterrupted one.</summary>
    public LossScalerState Export() => new() { Scale = Scale, GoodSteps = GoodSteps, GrowthInterval = GrowthInterval };

    /// <summary>Puts a saved state back; <c>CheckpointStateInvalid</c> when it cannot be this scaler's.</summary>
    public void Restore(LossScalerState state, string source)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!(state.Scale >= MinimumScale) || !double.IsFinite(state.Scale) || state.GoodSteps < 0 || state.GoodSteps >= GrowthInterval)
            throw new KohyaException("CheckpointStateInvalid", KohyaErrorKind.InvalidData,
                $"'{source}' holds a loss scaler state that cannot be right (scale {state.Scale}, {state.GoodSteps} good steps of {GrowthInterval}).",
                target: source);
        Scale = state.Scale;
        GoodSteps = state.GoodSteps;
    }
}

/// <summary>The float16 loss scaler's state in state.json.</summary>
public sealed class LossScalerState
{
    public double Scale { get; set; }
    public int GoodSteps { get; set; }
    public int GrowthInterval { get; set; }
}
