namespace KohyaPS.Engine.Optim;

/// <summary>
/// Learning-rate schedules as pure functions of the optimizer step: no hidden state, so a resumed run gets
/// exactly the rates the uninterrupted one would have. The formulas are those of Hugging Face transformers'
/// <c>get_*_schedule_with_warmup</c> (what kohya sd-scripts uses) evaluated by <c>LambdaLR</c>:
/// <c>lr = LearningRate × multiplier(step)</c>.
/// </summary>
/// <remarks>
/// <para><b>Step indexing.</b> <c>step</c> is the number of optimizer steps already taken: 0 for the first
/// update of the run, <c>totalSteps - 1</c> for the last. This is LambdaLR's <c>last_epoch</c> at the time
/// of each <c>optimizer.step()</c> when the scheduler is stepped after the optimizer, as kohya does. So the
/// very first update of a warm-up schedule uses lr 0, and warm-up reaches the full rate at
/// <c>step == WarmupSteps</c>.</para>
/// <para>Warm-up (every schedule except <c>constant</c>): <c>step / max(1, WarmupSteps)</c> while
/// <c>step &lt; WarmupSteps</c>. After it, with <c>progress = (step - W) / max(1, T - W)</c>:</para>
/// <list type="bullet">
/// <item><c>constant</c>, <c>constant_with_warmup</c>: 1.</item>
/// <item><c>linear</c>: <c>max(0, (T - step) / max(1, T - W))</c>.</item>
/// <item><c>cosine</c>: <c>max(0, 0.5 (1 + cos(π · 0.5 · 2 · progress)))</c> (transformers' num_cycles = 0.5; not clamped past T, as there).</item>
/// <item><c>cosine_with_restarts</c>: 0 when progress ≥ 1, else <c>max(0, 0.5 (1 + cos(π ((NumCycles · progress) mod 1))))</c>.</item>
/// <item><c>polynomial</c>: for step &gt; T, <c>EndLr / LearningRate</c>; else
/// <c>((LearningRate - EndLr) (1 - (step - W)/(T - W))^Power + EndLr) / LearningRate</c>.</item>
/// </list>
/// </remarks>
public static class LrSchedule
{
    public const string Constant = "constant";
    public const string ConstantWithWarmup = "constant_with_warmup";
    public const string Linear = "linear";
    public const string Cosine = "cosine";
    public const string CosineWithRestarts = "cosine_with_restarts";
    public const string Polynomial = "polynomial";

    /// <summary>Canonical schedule names, for tab completion and messages.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [Constant, ConstantWithWarmup, Linear, Cosine, CosineWithRestarts, Polynomial];

    /// <summary>
    /// The learning rate for the update that follows <paramref name="step"/> completed optimizer steps of a run
    /// of <paramref name="totalSteps"/>. Validates the settings (<c>InvalidLrSchedule</c>).
    /// </summary>
    public static double Compute(LrScheduleSettings settings, long step, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate(totalSteps);
        if (step < 0)
            throw new ArgumentOutOfRangeException(nameof(step), step, "The step count must be >= 0.");
        return settings.LearningRate * Multiplier(settings, step, totalSteps);
    }

    /// <summary>
    /// Re-warm after a resume: <c>scheduledLr × min(1, (stepsSinceResume + 1) / rewarmSteps)</c>, where
    /// <paramref name="stepsSinceResume"/> counts optimizer steps completed since the resume (0 for the first
    /// update after it). The first update gets 1/rewarmSteps of the rate, never 0, and update number
    /// <paramref name="rewarmSteps"/> (stepsSinceResume = rewarmSteps - 1) gets the full rate.
    /// <paramref name="rewarmSteps"/> &lt;= 0 means no re-warm.
    /// </summary>
    public static double WithRewarm(double scheduledLr, long stepsSinceResume, long rewarmSteps)
    {
        if (stepsSinceResume < 0)
            throw new ArgumentOutOfRangeException(nameof(stepsSinceResume), stepsSinceResume, "Must be >= 0.");
        if (rewarmSteps <= 0)
            return scheduledLr;
        return scheduledLr * Math.Min(1.0, (double)(stepsSinceResume + 1) / rewarmSteps);
    }

    private static double Multiplier(LrScheduleSettings s, long step, long total)
    {
        string name = s.CanonicalName!;
        if (name == Constant)
            return 1.0;

        long warmup = s.WarmupSteps;
        if (step < warmup)
            return (double)step / Math.Max(1, warmup);

        double progress = (double)(step - warmup) / Math.Max(1, total - warmup);
        switch (name)
        {
            case ConstantWithWarmup:
                return 1.0;
            case Linear:
                return Math.Max(0.0, (double)(total - step) / Math.Max(1, total - warmup));
            case Cosine:
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * 0.5 * 2.0 * progress)));
            case CosineWithRestarts:
                if (progress >= 1.0)
                    return 0.0;
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * ((s.EffectiveNumCycles * progress) % 1.0))));
            case Polynomial:
            {
                double lrInit = s.LearningRate;
                double lrEnd = s.EffectiveEndLr;
                long decaySteps = total - warmup;
                if (step > total || decaySteps == 0)
                    return lrEnd / lrInit; // transformers divides by zero when decaySteps is 0; the rate has decayed
                double pctRemaining = 1 - (double)(step - warmup) / decaySteps;
                double decay = (lrInit - lrEnd) * Math.Pow(pctRemaining, s.EffectivePower) + lrEnd;
                return decay / lrInit;
            }
            default:
                throw new InvalidOperationException("unreachable: unknown schedule " + name);
        }
    }
}
