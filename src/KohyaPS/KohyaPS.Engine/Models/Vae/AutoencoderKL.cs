using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Vae;

/// <summary>
/// Stable Diffusion's VAE with diffusers' <c>AutoencoderKL</c> layout: <c>encoder.*</c>, <c>quant_conv</c>,
/// <c>post_quant_conv</c>, <c>decoder.*</c>. <see cref="Encode"/> gives the diagonal Gaussian posterior
/// (mean, log-variance clamped to [−30, 20] as diffusers does); <see cref="LatentDistribution.Sample"/> draws from it
/// with a given generator. Training latents are <c>sample × ScalingFactor</c>; <see cref="Decode"/> takes unscaled
/// latents. Images are [B, 3, H, W] in [−1, 1], H and W multiples of <see cref="VaeConfig.DownsampleFactor"/>.
/// </summary>
public sealed class AutoencoderKL : nn.Module<Tensor, Tensor>
{
    private readonly VaeEncoder encoder;
    private readonly VaeDecoder decoder;
    private readonly Conv2d quant_conv;
    private readonly Conv2d post_quant_conv;

    /// <summary>Builds the VAE; throws <see cref="KohyaException"/> "InvalidModelConfig" for a bad config.</summary>
    public AutoencoderKL(VaeConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(AutoencoderKL))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        encoder = new VaeEncoder(config, device, dtype);
        decoder = new VaeDecoder(config, device, dtype);
        quant_conv = nn.Conv2d(2L * config.LatentChannels, 2L * config.LatentChannels, 1, device: device, dtype: dtype);
        post_quant_conv = nn.Conv2d(config.LatentChannels, config.LatentChannels, 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The (validated) shape this model was built from.</summary>
    public VaeConfig Config { get; }

    /// <summary>The posterior over latents for a batch of images.</summary>
    public LatentDistribution Encode(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        CheckInput(images, Config.InChannels, Config.DownsampleFactor, "images");
        using var scope = torch.NewDisposeScope();
        var h = encoder.forward(images);
        var moments = quant_conv.forward(h);
        var halves = moments.chunk(2, 1);
        var logvar = halves[1].clamp(-30.0, 20.0);
        return new LatentDistribution(halves[0].contiguous().MoveToOuterDisposeScope(), logvar.MoveToOuterDisposeScope());
    }

    /// <summary>Images from (unscaled) latents [B, LatentChannels, h, w] → [B, OutChannels, h·f, w·f].</summary>
    public Tensor Decode(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        CheckInput(latents, Config.LatentChannels, 1, "latents");
        using var z = post_quant_conv.forward(latents);
        return decoder.forward(z);
    }

    /// <summary>Reconstruction through the posterior's mean (diffusers' <c>forward</c> with <c>sample_posterior=False</c>).</summary>
    public override Tensor forward(Tensor images)
    {
        using var posterior = Encode(images);
        return Decode(posterior.Mean);
    }

    private static void CheckInput(Tensor x, long channels, int multiple, string what)
    {
        if (x.dim() != 4 || x.shape[1] != channels || x.shape[2] % multiple != 0 || x.shape[3] % multiple != 0)
            throw new KohyaException("InvalidModelInput", KohyaErrorKind.InvalidArgument,
                $"VAE input: {what} must be [B, {channels}, H, W] with H and W multiples of {multiple}, not [{string.Join(", ", x.shape)}].");
    }
}
