namespace KohyaPS.Engine.Optim;

/// <summary>
/// A learning-rate schedule: one of <see cref="LrSchedule.Names"/> and its options. Options left null take
/// transformers' defaults; an option the schedule does not use is an error, not ignored.
/// </summary>
public sealed record LrScheduleSettings
{
    /// <summary>Schedule name, case-insensitive (see <see cref="LrSchedule.Names"/>).</summary>
    public string Name { get; init; } = LrSchedule.Constant;

    /// <summary>The base learning rate the schedule's multiplier scales.</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Optimizer steps of linear warm-up from 0; not allowed with <c>constant</c> (use constant_with_warmup).</summary>
    public long WarmupSteps { get; init; }

    /// <summary>cosine_with_restarts only: number of hard restarts (default 1).</summary>
    public int? NumCycles { get; init; }

    /// <summary>polynomial only: decay power (default 1).</summary>
    public double? Power { get; init; }

    /// <summary>polynomial only: the final learning rate (default 1e-7); must be below <see cref="LearningRate"/>.</summary>
    public double? EndLr { get; init; }

    /// <summary>The name's canonical spelling, or null when unknown.</summary>
    public string? CanonicalName =>
        LrSchedule.Names.FirstOrDefault(n => string.Equals(n, Name?.Trim(), StringComparison.OrdinalIgnoreCase));

    public int EffectiveNumCycles => NumCycles ?? 1;

    public double EffectivePower => Power ?? 1.0;

    public double EffectiveEndLr => EndLr ?? 1e-7;

    /// <summary>Throws <see cref="KohyaException"/> <c>InvalidLrSchedule</c> naming the first bad option.</summary>
    public void Validate()
    {
        string? name = CanonicalName;
        if (name is null)
            throw Invalid(nameof(Name), $"'{Name}' is not a schedule; use one of {string.Join(", ", LrSchedule.Names)}.");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw Invalid(nameof(LearningRate), $"must be a finite number > 0; got {LearningRate}.");
        if (WarmupSteps < 0)
            throw Invalid(nameof(WarmupSteps), $"must be >= 0; got {WarmupSteps}.");
        if (WarmupSteps > 0 && name == LrSchedule.Constant)
            throw Invalid(nameof(WarmupSteps), $"'{LrSchedule.Constant}' has no warm-up; use '{LrSchedule.ConstantWithWarmup}' or set WarmupSteps to 0.");

        if (NumCycles is { } cycles)
        {
            if (name != LrSchedule.CosineWithRestarts)
                throw Invalid(nameof(NumCycles), $"applies to '{LrSchedule.CosineWithRestarts}' only, not '{name}'.");
            if (cycles < 1)
                throw Invalid(nameof(NumCycles), $"must be >= 1; got {cycles}.");
        }
        if (Power is { } power)
        {
            if (name != LrSchedule.Polynomial)
                throw Invalid(nameof(Power), $"applies to '{LrSchedule.Polynomial}' only, not '{name}'.");
            if (!(power > 0) || !double.IsFinite(power))
                throw Invalid(nameof(Power), $"must be a finite number > 0; got {power}.");
        }
        if (EndLr is { } endLr)
        {
            if (name != LrSchedule.Polynomial)
                throw Invalid(nameof(EndLr), $"applies to '{LrSchedule.Polynomial}' only, not '{name}'.");
            if (!(endLr >= 0) || !double.IsFinite(endLr))
                throw Invalid(nameof(EndLr), $"must be a finite number >= 0; got {endLr}.");
        }
        if (name == LrSchedule.Polynomial && !(LearningRate > EffectiveEndLr))
            throw Invalid(nameof(EndLr), $"must be smaller than LearningRate ({LearningRate}); got {EffectiveEndLr}.");
    }

    /// <summary><see cref="Validate()"/>, plus the run length: at least 1 step and no shorter than the warm-up.</summary>
    public void Validate(long totalSteps)
    {
        Validate();
        if (totalSteps < 1)
            throw Invalid("TotalSteps", $"the run must have at least 1 optimizer step; got {totalSteps}.");
        if (WarmupSteps > totalSteps)
            throw Invalid(nameof(WarmupSteps), $"{WarmupSteps} warm-up steps exceed the run's {totalSteps} optimizer steps.");
    }

    internal static KohyaException Invalid(string option, string problem) =>
        new("InvalidLrSchedule", KohyaErrorKind.InvalidArgument, $"LR schedule option '{option}' is invalid: {problem}", target: option)
        {
            RecommendedAction = $"Correct '{option}' in the hyperparameter set.",
        };
}
