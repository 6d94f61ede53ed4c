using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>
/// What Adam and AdamW share: betas, eps, weight decay, the moment slots and update
/// (<see cref="AdamUpdate"/>). They differ only in how weight decay is applied (<see cref="ApplyWeightDecay"/>).
/// </summary>
public abstract class AdamFamily : KohyaOptimizer
{
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _eps;

    private protected AdamFamily(string type, IReadOnlyList<(string Name, Parameter Param)> parameters,
        (double Beta1, double Beta2)? betas, double eps, double weightDecay)
        : base(new OptimizerSettings { Type = type, Betas = betas, Eps = eps, WeightDecay = weightDecay }, parameters, AdamUpdate.Slots)
    {
        (_beta1, _beta2) = Settings.EffectiveBetas;
        _eps = eps;
        WeightDecay = weightDecay;
    }

    protected double WeightDecay { get; }

    /// <summary>Applies weight decay; returns the gradient the moment update should use.</summary>
    private protected abstract Tensor ApplyWeightDecay(Tensor param, Tensor grad, double lr);

    private protected sealed override void Update(Tensor param, Tensor grad, Tensor[] state, long step, double lr)
    {
        var g = WeightDecay != 0 ? ApplyWeightDecay(param, grad, lr) : grad;
        AdamUpdate.Apply(param, g, state[0], state[1], step, lr, _beta1, _beta2, _eps);
    }

    private protected sealed override IEnumerable<(string Key, string Value)> ExportSettings() =>
        AdamUpdate.Settings(_beta1, _beta2, _eps, WeightDecay);
}
