using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>The moment update shared by Adam and AdamW, in PyTorch's single-tensor operation order.</summary>
internal static class AdamUpdate
{
    public static readonly string[] Slots = ["exp_avg", "exp_avg_sq"];

    public static void Apply(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, long step, double lr,
                             double beta1, double beta2, double eps)
    {
        // PyTorch: exp_avg.lerp_(grad, 1 - beta1); a 0-dim weight in the parameter's dtype holds the same value
        // the scalar weight is cast to for fp32.
        var weight = torch.tensor(1 - beta1, dtype: param.dtype, device: param.device);
        expAvg.lerp_(grad, weight);
        expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);

        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        double stepSize = lr / biasCorrection1;
        double biasCorrection2Sqrt = Math.Pow(biasCorrection2, 0.5); // Python's bias_correction2 ** 0.5
        var denom = (expAvgSq.sqrt() / biasCorrection2Sqrt).add_(eps);
        param.addcdiv_(expAvg, denom, -stepSize);
    }

    public static IEnumerable<(string Key, string Value)> Settings(double beta1, double beta2, double eps, double weightDecay)
    {
        yield return ("beta1", KohyaOptimizer.Format(beta1));
        yield return ("beta2", KohyaOptimizer.Format(beta2));
        yield return ("eps", KohyaOptimizer.Format(eps));
        yield return ("weight_decay", KohyaOptimizer.Format(weightDecay));
    }
}
