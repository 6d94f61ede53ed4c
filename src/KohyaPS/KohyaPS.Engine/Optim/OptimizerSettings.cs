namespace KohyaPS.Engine.Optim;

/// <summary>
/// Which optimizer and its hyperparameters. Options left null take the type's default (PyTorch's, or
/// lion-pytorch's for Lion); an option that the chosen type does not use is an error, not ignored.
/// </summary>
public sealed record OptimizerSettings
{
    /// <summary><c>AdamW</c>, <c>Adam</c>, <c>SGD</c> or <c>Lion</c>, case-insensitive.</summary>
    public string Type { get; init; } = "AdamW";

    /// <summary>(beta1, beta2); default (0.9, 0.999), Lion (0.9, 0.99). Not used by SGD.</summary>
    public (double Beta1, double Beta2)? Betas { get; init; }

    /// <summary>Added to the denominator outside the square root (Adam, AdamW).</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Default 0.01 for AdamW, 0 otherwise. Decoupled for AdamW and Lion, L2 (added to the gradient) for Adam and SGD.</summary>
    public double? WeightDecay { get; init; }

    /// <summary>SGD only.</summary>
    public double Momentum { get; init; }

    /// <summary>SGD only.</summary>
    public double Dampening { get; init; }

    /// <summary>SGD only; needs Momentum &gt; 0 and Dampening = 0.</summary>
    public bool Nesterov { get; init; }

    /// <summary>The type's canonical spelling (one of <see cref="OptimizerFactory.Names"/>), or null when unknown.</summary>
    public string? CanonicalType =>
        OptimizerFactory.Names.FirstOrDefault(n => string.Equals(n, Type?.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>Betas with the type's default applied.</summary>
    public (double Beta1, double Beta2) EffectiveBetas =>
        Betas ?? (CanonicalType == OptimizerFactory.Lion ? (0.9, 0.99) : (0.9, 0.999));

    /// <summary>Weight decay with the type's default applied.</summary>
    public double EffectiveWeightDecay => WeightDecay ?? (CanonicalType == OptimizerFactory.AdamW ? 0.01 : 0.0);

    /// <summary>Throws <see cref="KohyaException"/> <c>InvalidOptimizerSettings</c> naming the first bad option.</summary>
    public void Validate()
    {
        string? type = CanonicalType;
        if (type is null)
            throw Invalid(nameof(Type), $"'{Type}' is not an optimizer; use one of {string.Join(", ", OptimizerFactory.Names)}.");

        bool sgd = type == OptimizerFactory.Sgd;
        if (Betas is { } b)
        {
            if (sgd)
                throw Invalid(nameof(Betas), "SGD has no betas; remove the option or use Momentum.");
            if (!(b.Beta1 >= 0 && b.Beta1 < 1))
                throw Invalid(nameof(Betas), $"beta1 must be in [0, 1); got {b.Beta1}.");
            if (!(b.Beta2 >= 0 && b.Beta2 < 1))
                throw Invalid(nameof(Betas), $"beta2 must be in [0, 1); got {b.Beta2}.");
        }
        if (!(Eps >= 0) || !double.IsFinite(Eps))
            throw Invalid(nameof(Eps), $"must be a finite number >= 0; got {Eps}.");
        if (WeightDecay is { } wd && (!(wd >= 0) || !double.IsFinite(wd)))
            throw Invalid(nameof(WeightDecay), $"must be a finite number >= 0; got {wd}.");

        if (!sgd)
        {
            if (Momentum != 0)
                throw Invalid(nameof(Momentum), $"applies to SGD only, not {type}.");
            if (Dampening != 0)
                throw Invalid(nameof(Dampening), $"applies to SGD only, not {type}.");
            if (Nesterov)
                throw Invalid(nameof(Nesterov), $"applies to SGD only, not {type}.");
            return;
        }
        if (!(Momentum >= 0) || !double.IsFinite(Momentum))
            throw Invalid(nameof(Momentum), $"must be a finite number >= 0; got {Momentum}.");
        if (!(Dampening >= 0 && Dampening <= 1))
            throw Invalid(nameof(Dampening), $"must be in [0, 1]; got {Dampening}.");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw Invalid(nameof(Nesterov), $"Nesterov momentum needs Momentum > 0 and Dampening = 0; got Momentum {Momentum}, Dampening {Dampening}.");
    }

    private static KohyaException Invalid(string option, string problem) =>
        new("InvalidOptimizerSettings", KohyaErrorKind.InvalidArgument, $"Optimizer option '{option}' is invalid: {problem}", target: option)
        {
            RecommendedAction = $"Correct '{option}' in the hyperparameter set.",
        };
}
