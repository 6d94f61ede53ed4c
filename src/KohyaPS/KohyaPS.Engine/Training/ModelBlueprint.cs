using KohyaPS.Contracts;
using KohyaPS.Engine.Loading;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;

namespace KohyaPS.Engine.Training;

/// <summary>
/// The shapes of what a run trains, from its Model settings: the UNet, the text encoder and — for the latent presets
/// (tiny-sd, sd15) — the VAE whose latents the UNet works on. A diffusers folder in Model.Path brings its own
/// shapes (its config.json files); a single file and a seed-initialised model take the preset's.
/// </summary>
public sealed record ModelBlueprint(UNetConfig UNet, TextEncoderConfig TextEncoder, VaeConfig? Vae)
{
    /// <summary>The UNet works on VAE latents rather than pixels.</summary>
    public bool IsLatent => Vae is not null;

    /// <summary>Image sides must be multiples of this: the VAE's downsampling times the UNet's halvings.</summary>
    public int SizeMultiple => SizeMultipleOf(UNet, Vae);

    /// <summary>The VAE's downsampling (1 without one) times the UNet's halvings (one per down block but the last).</summary>
    public static int SizeMultipleOf(UNetConfig unet, VaeConfig? vae) =>
        (vae?.DownsampleFactor ?? 1) * (1 << Math.Max(0, unet.DownBlockTypes.Count - 1));

    /// <summary>The VAE of a model preset: none for the pixel presets tiny and small.</summary>
    public static VaeConfig? VaeFor(string preset) => preset.Trim().ToLowerInvariant() switch
    {
        "tiny-sd" => VaeConfig.Tiny,
        "sd15" => VaeConfig.Sd15,
        _ => null,
    };

    /// <summary>Whether a preset trains on VAE latents with CLIP's tokenizer.</summary>
    public static bool IsLatentPreset(string preset) => VaeFor(preset) is not null;

    /// <summary>The shapes for <paramref name="settings"/> with a tokenizer of the given size and caption length.</summary>
    public static ModelBlueprint For(ModelSection settings, int vocabularySize, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var vae = VaeFor(settings.Preset);
        if (vae is not null && Directory.Exists(settings.Path))
            return FromFolder(settings.Path, settings.Preset, maxLength);
        var unet = UNetConfig.FromPreset(settings.Preset);
        // sd15's text encoder is CLIP ViT-L/14 as released (49,408 ids, 77 positions, 12 layers), whatever the tokenizer.
        // Other latent text encoders have CLIP's 77 positions too, so a caption length up to 77 fits every latent model.
        var text = settings.Preset.Trim().Equals("sd15", StringComparison.OrdinalIgnoreCase)
            ? TextEncoderConfig.ClipVitL14
            : TextEncoderConfig.ForUNet(unet, vocabularySize, vae is null ? maxLength : Models.Clip.ClipTokenizer.DefaultMaxLength) with { Layers = settings.TextEncoderLayers };
        text.Validate();
        var blueprint = new ModelBlueprint(unet, text, vae);
        blueprint.CheckTokenizer(vocabularySize, maxLength, settings.Preset);
        return blueprint;
    }

    private static ModelBlueprint FromFolder(string folder, string preset, int maxLength)
    {
        var unet = DiffusersConfigJson.ReadUNet(Path.Combine(folder, "unet", "config.json"));
        var vae = DiffusersConfigJson.ReadVae(Path.Combine(folder, "vae", "config.json"));
        var text = DiffusersConfigJson.ReadTextEncoder(Path.Combine(folder, "text_encoder", "config.json"));
        if (unet.InChannels != vae.LatentChannels)
            throw new KohyaException("ModelConfigMismatch", KohyaErrorKind.InvalidData,
                $"'{folder}': the UNet takes {unet.InChannels} input channels but the VAE makes {vae.LatentChannels}-channel latents.", target: folder)
            {
                RecommendedAction = "Give a complete Stable Diffusion 1.x diffusers folder whose parts belong together.",
            };
        var blueprint = new ModelBlueprint(unet, text, vae);
        blueprint.CheckTokenizer(0, maxLength, preset);
        return blueprint;
    }

    private void CheckTokenizer(int vocabularySize, int maxLength, string preset)
    {
        if (maxLength > TextEncoder.MaxLength)
            throw new KohyaException("MaxTokensTooLong", KohyaErrorKind.InvalidArgument,
                $"Model.MaxTokens is {maxLength}, but the '{preset}' text encoder has {TextEncoder.MaxLength} positions.", target: "Model.MaxTokens")
            {
                RecommendedAction = $"Set Model.MaxTokens to {TextEncoder.MaxLength} or less (CLIP: 77).",
            };
        if (vocabularySize > TextEncoder.VocabSize)
            throw new KohyaException("TokenizerTooLarge", KohyaErrorKind.InvalidArgument,
                $"The tokenizer has {vocabularySize} ids, but the '{preset}' text encoder embeds only {TextEncoder.VocabSize}.", target: "Model.TokenizerPath")
            {
                RecommendedAction = "Use the tokenizer that belongs to the model (its tokenizer/ folder).",
            };
    }
}
