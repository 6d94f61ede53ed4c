using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Clip;
using KohyaPS.Engine.Models.Vae;

namespace KohyaPS.Engine.Loading;

/// <summary>A loaded (or freshly built) Stable Diffusion 1.x model: UNet, VAE, text encoder and, when the source has one, the tokenizer.</summary>
public sealed class StableDiffusionModels : IDisposable
{
    public StableDiffusionModels(UNet2DConditionModel unet, AutoencoderKL vae, TextEncoder textEncoder, ClipTokenizer? tokenizer, string source)
    {
        UNet = unet ?? throw new ArgumentNullException(nameof(unet));
        Vae = vae ?? throw new ArgumentNullException(nameof(vae));
        TextEncoder = textEncoder ?? throw new ArgumentNullException(nameof(textEncoder));
        Tokenizer = tokenizer;
        Source = source;
    }

    public UNet2DConditionModel UNet { get; }
    public AutoencoderKL Vae { get; }
    public TextEncoder TextEncoder { get; }

    /// <summary>The CLIP tokenizer from a diffusers folder's <c>tokenizer/</c>; null for a single file (they carry none) and when not asked for (<see cref="StableDiffusionLoadOptions.LoadTokenizer"/>).</summary>
    public ClipTokenizer? Tokenizer { get; }

    /// <summary>The folder or file the weights came from.</summary>
    public string Source { get; }

    public void Dispose()
    {
        UNet.Dispose();
        Vae.Dispose();
        TextEncoder.Dispose();
    }
}
