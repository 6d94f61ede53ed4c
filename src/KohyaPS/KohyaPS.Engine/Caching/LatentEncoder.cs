using KohyaPS.Engine.Models.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Caching;

/// <summary>
/// The one way a training image becomes a latent distribution, with the cache and without it: a single image
/// ([1, 3, H, W] in [-1, 1]) through the VAE's encoder, without gradients, returned as float32 on the CPU. Encoding
/// one image at a time keeps each sample's latents independent of which other images share its batch, so a cached
/// distribution is bitwise the one a fresh encode gives.
/// </summary>
public static class LatentEncoder
{
    /// <summary>
    /// The posterior of one image: Mean and LogVar float32 [1, latent channels, H/f, W/f] on the CPU, owned by the
    /// caller. <paramref name="pixels"/> is converted to the VAE's dtype and device first.
    /// </summary>
    public static LatentDistribution Encode(AutoencoderKL vae, Tensor pixels)
    {
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.dim() != 4 || pixels.shape[0] != 1)
            throw new ArgumentException($"Encode one image at a time: pixels must be [1, 3, H, W], not [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var weight = vae.parameters().First();
        var input = pixels.to(weight.dtype, weight.device);
        var posterior = vae.Encode(input);
        var mean = posterior.Mean.to(ScalarType.Float32, torch.CPU).contiguous();
        var logVar = posterior.LogVar.to(ScalarType.Float32, torch.CPU).contiguous();
        return new LatentDistribution(mean.MoveToOuterDisposeScope(), logVar.MoveToOuterDisposeScope());
    }
}
