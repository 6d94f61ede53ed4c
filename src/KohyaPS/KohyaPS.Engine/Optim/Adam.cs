using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>
/// Adam with L2 weight decay (added to the gradient), PyTorch's <c>torch.optim.Adam</c> (amsgrad off):
/// <c>g += wd*p</c>, then the same moment update as <see cref="AdamW"/>. Slots <c>exp_avg</c>, <c>exp_avg_sq</c>.
/// </summary>
public sealed class Adam : AdamFamily
{
    public Adam(IReadOnlyList<(string Name, Parameter Param)> parameters,
                (double Beta1, double Beta2)? betas = null, double eps = 1e-8, double weightDecay = 0)
        : base(OptimizerFactory.Adam, parameters, betas, eps, weightDecay)
    {
    }

    /// <summary>L2: <c>g += wd*p</c>.</summary>
    private protected override Tensor ApplyWeightDecay(Tensor param, Tensor grad, double lr) => grad.add(param, WeightDecay);
}
