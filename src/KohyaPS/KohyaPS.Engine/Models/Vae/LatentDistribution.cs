using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Vae;

/// <summary>
/// The VAE's diagonal Gaussian posterior (diffusers' <c>DiagonalGaussianDistribution</c>): owns its two tensors.
/// </summary>
public sealed class LatentDistribution : IDisposable
{
    public LatentDistribution(Tensor mean, Tensor logVar)
    {
        Mean = mean;
        LogVar = logVar;
    }

    /// <summary>[B, latent channels, h, w]</summary>
    public Tensor Mean { get; }

    /// <summary>Log-variance, same shape, clamped to [−30, 20].</summary>
    public Tensor LogVar { get; }

    /// <summary>mean + exp(logvar / 2) · ε, ε ~ N(0, 1) drawn from <paramref name="generator"/> (the default generator when null).</summary>
    public Tensor Sample(Generator? generator = null)
    {
        using var std = (LogVar * 0.5).exp_();
        using var noise = torch.randn(Mean.shape, Mean.dtype, Mean.device, generator: generator);
        using var scaled = std * noise;
        return Mean + scaled;
    }

    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
    }
}
