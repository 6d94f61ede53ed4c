using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Loading;

/// <summary>Where and in which dtype to build the models, and (for single files, which carry no config) their shapes.</summary>
public sealed record StableDiffusionLoadOptions
{
    /// <summary>Device the weights are created on and copied to (null: CPU).</summary>
    public Device? Device { get; init; }

    /// <summary>Weight dtype in memory; file tensors of any float dtype are converted to it one by one.</summary>
    public ScalarType Dtype { get; init; } = ScalarType.Float32;

    /// <summary>Single-file UNet shape (a diffusers folder's <c>unet/config.json</c> wins); default SD1.5.</summary>
    public UNetConfig UNet { get; init; } = UNetConfig.Sd15;

    /// <summary>Single-file VAE shape; default SD1.5.</summary>
    public VaeConfig Vae { get; init; } = VaeConfig.Sd15;

    /// <summary>Single-file text encoder shape; default CLIP ViT-L/14.</summary>
    public TextEncoderConfig TextEncoder { get; init; } = TextEncoderConfig.ClipVitL14;

    /// <summary>Length of tokenized captions for the folder's tokenizer (CLIP: 77).</summary>
    public int MaxTokens { get; init; } = 77;

    /// <summary>
    /// Read a diffusers folder's <c>tokenizer/</c> (it must then be there). Training turns this off: it builds its
    /// tokenizer itself (Model.TokenizerPath may name another), so the folder's files are neither read twice nor required.
    /// </summary>
    public bool LoadTokenizer { get; init; } = true;
}
