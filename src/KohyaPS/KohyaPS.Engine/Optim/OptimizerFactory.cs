using TorchSharp.Modules;

namespace KohyaPS.Engine.Optim;

/// <summary>Builds an optimizer from validated <see cref="OptimizerSettings"/>.</summary>
public static class OptimizerFactory
{
    public const string AdamW = "AdamW";
    public const string Adam = "Adam";
    public const string Sgd = "SGD";
    public const string Lion = "Lion";

    /// <summary>Canonical optimizer names, for tab completion and messages.</summary>
    public static IReadOnlyList<string> Names { get; } = [AdamW, Adam, Sgd, Lion];

    /// <summary>
    /// Validates <paramref name="settings"/> (<see cref="KohyaException"/> <c>InvalidOptimizerSettings</c>) and
    /// creates the optimizer over <paramref name="parameters"/>.
    /// </summary>
    public static KohyaOptimizer Create(OptimizerSettings settings, IReadOnlyList<(string Name, Parameter Param)> parameters)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var betas = settings.EffectiveBetas;
        double wd = settings.EffectiveWeightDecay;
        return settings.CanonicalType switch
        {
            AdamW => new Optim.AdamW(parameters, betas, settings.Eps, wd),
            Adam => new Optim.Adam(parameters, betas, settings.Eps, wd),
            Sgd => new Optim.Sgd(parameters, settings.Momentum, settings.Dampening, settings.Nesterov, wd),
            Lion => new Optim.Lion(parameters, betas, wd),
            _ => throw new InvalidOperationException("unreachable: Validate accepted " + settings.Type),
        };
    }
}
