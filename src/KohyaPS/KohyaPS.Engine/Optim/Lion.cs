using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>
/// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"), the update of lion-pytorch that
/// kohya uses, per parameter:
/// <code>
/// p *= 1 - lr*wd
/// p -= lr * sign(beta1*m + (1 - beta1)*g)
/// m = beta2*m + (1 - beta2)*g
/// </code>
/// Slot <c>exp_avg</c>. Defaults betas (0.9, 0.99), weight decay 0.
/// </summary>
public sealed class Lion : KohyaOptimizer
{
    private static readonly string[] LionSlots = ["exp_avg"];

    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _weightDecay;

    public Lion(IReadOnlyList<(string Name, Parameter Param)> parameters,
                (double Beta1, double Beta2)? betas = null, double weightDecay = 0)
        : base(new OptimizerSettings { Type = OptimizerFactory.Lion, Betas = betas, WeightDecay = weightDecay },
               parameters, LionSlots)
    {
        (_beta1, _beta2) = Settings.EffectiveBetas;
        _weightDecay = weightDecay;
    }

    private protected override void Update(Tensor param, Tensor grad, Tensor[] state, long step, double lr)
    {
        var expAvg = state[0];
        if (_weightDecay != 0)
            param.mul_(1 - lr * _weightDecay);
        var update = expAvg.clone().mul_(_beta1).add_(grad, 1 - _beta1).sign_();
        param.add_(update, -lr);
        expAvg.mul_(_beta2).add_(grad, 1 - _beta2);
    }

    private protected override IEnumerable<(string Key, string Value)> ExportSettings()
    {
        yield return ("beta1", Format(_beta1));
        yield return ("beta2", Format(_beta2));
        yield return ("weight_decay", Format(_weightDecay));
    }
}
