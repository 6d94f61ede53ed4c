using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>
/// Adam with decoupled weight decay, PyTorch's <c>torch.optim.AdamW</c> (amsgrad off), per parameter:
/// <code>
/// p *= 1 - lr*wd
/// m.lerp_(g, 1 - beta1);  v = v*beta2 + (1 - beta2)*g*g
/// p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / (1 - beta2^t)^0.5 + eps)
/// </code>
/// Slots <c>exp_avg</c>, <c>exp_avg_sq</c>.
/// </summary>
public sealed class AdamW : KohyaOptimizer
{
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _eps;
    private readonly double _weightDecay;

    public AdamW(IReadOnlyList<(string Name, Parameter Param)> parameters,
                 (double Beta1, double Beta2)? betas = null, double eps = 1e-8, double weightDecay = 0.01)
        : base(new OptimizerSettings { Type = OptimizerFactory.AdamW, Betas = betas, Eps = eps, WeightDecay = weightDecay },
               parameters, AdamUpdate.Slots)
    {
        (_beta1, _beta2) = Settings.EffectiveBetas;
        _eps = eps;
        _weightDecay = weightDecay;
    }

    private protected override void Update(Tensor param, Tensor grad, Tensor[] state, long step, double lr)
    {
        if (_weightDecay != 0)
            param.mul_(1 - lr * _weightDecay);
        AdamUpdate.Apply(param, grad, state[0], state[1], step, lr, _beta1, _beta2, _eps);
    }

    private protected override IEnumerable<(string Key, string Value)> ExportSettings() =>
        AdamUpdate.Settings(_beta1, _beta2, _eps, _weightDecay);
}
