using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>
/// Adam with L2 weight decay (added to the gradient), PyTorch's <c>torch.optim.Adam</c> (amsgrad off):
/// <c>g += wd*p</c>, then the same moment update as <see cref="AdamW"/>. Slots <c>exp_avg</c>, <c>exp_avg_sq</c>.
/// </summary>
public sealed class Adam : KohyaOptimizer
{
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _eps;
    private readonly double _weightDecay;

    public Adam(IReadOnlyList<(string Name, Parameter Param)> parameters,
                (double Beta1, double Beta2)? betas = null, double eps = 1e-8, double weightDecay = 0)
        : base(new OptimizerSettings { Type = OptimizerFactory.Adam, Betas = betas, Eps = eps, WeightDecay = weightDecay },
               parameters, AdamUpdate.Slots)
    {
        (_beta1, _beta2) = Settings.EffectiveBetas;
        _eps = eps;
        _weightDecay = weightDecay;
    }

    private protected override void Update(Tensor param, Tensor grad, Tensor[] state, long step, double lr)
    {
        if (_weightDecay != 0)
            grad = grad.add(param, _weightDecay);
        AdamUpdate.Apply(param, grad, state[0], state[1], step, lr, _beta1, _beta2, _eps);
    }

    private protected override IEnumerable<(string Key, string Value)> ExportSettings() =>
        AdamUpdate.Settings(_beta1, _beta2, _eps, _weightDecay);
}
