using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>Gradient-norm clipping as <c>torch.nn.utils.clip_grad_norm_</c> (L2, error_if_nonfinite off).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Returns the L2 norm over all gradients together (parameters without a gradient are skipped; 0 when none
    /// has one). When <paramref name="maxNorm"/> &gt; 0, every gradient is multiplied in place by
    /// min(1, maxNorm / (total + 1e-6)), computed in the gradients' dtype the way PyTorch does; a factor of 1 is
    /// not applied. <paramref name="maxNorm"/> &lt;= 0 only measures. A non-finite total scales as PyTorch
    /// would (to NaN or zero); the caller's stability checks see the returned norm.
    /// </summary>
    public static double ClipByTotalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (double.IsNaN(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be a number.");

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var grads = new List<Tensor>();
        foreach (var p in parameters)
        {
            if (p?.grad is { } g)
                grads.Add(g);
        }
        if (grads.Count == 0)
            return 0.0;

        // Per-gradient norms, then the norm of the norms (what clip_grad_norm_ does).
        var norms = grads.Select(g => torch.linalg.vector_norm(g, 2)).ToList();
        var total = torch.linalg.vector_norm(torch.stack(norms), 2);
        double totalNorm = total.to_type(ScalarType.Float64).item<double>();
        if (maxNorm <= 0)
            return totalNorm;

        // clip_coef = max_norm / (total + 1e-6): Python evaluates it as reciprocal(total + 1e-6) * max_norm.
        var coef = (total + 1e-6).reciprocal().mul_(maxNorm).clamp_max_(1.0);
        double factor = coef.to_type(ScalarType.Float64).item<double>();
        if (!(factor >= 1.0)) // multiplying by exactly 1 changes nothing; NaN scales, as in PyTorch
        {
            foreach (var g in grads)
                g.mul_(coef.to(g.device));
        }
        return totalNorm;
    }
}
