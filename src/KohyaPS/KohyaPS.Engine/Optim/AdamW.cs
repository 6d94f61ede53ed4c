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
public sealed class AdamW : AdamFamily
{
    public AdamW(IReadOnlyList<(string Name, Parameter Param)> parameters,
                 (double Beta1, double Beta2)? betas = null, double eps = 1e-8, double weightDecay = 0.01)
        : base(OptimizerFactory.AdamW, parameters, betas, eps, weightDecay)
    {
    }

    /// <summary>Decoupled: <c>p *= 1 - lr*wd</c>; the gradient is unchanged.</summary>
    private protected override Tensor ApplyWeightDecay(Tensor param, Tensor grad, double lr)
    {
        param.mul_(1 - lr * WeightDecay);
        return grad;
    }
}
