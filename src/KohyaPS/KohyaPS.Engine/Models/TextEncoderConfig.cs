using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// The shape of a <see cref="TextEncoder"/>: a small CLIP-style text transformer. Property summaries name the
/// Hugging Face <c>CLIPTextConfig</c> key each one mirrors. <see cref="Width"/> must equal the paired UNet's
/// <see cref="UNetConfig.CrossAttentionDim"/>; <see cref="ForUNet"/> builds such a pairing.
/// </summary>
public sealed record TextEncoderConfig
{
    /// <summary><c>vocab_size</c>: number of token ids (the tokenizer's vocabulary size).</summary>
    public int VocabSize { get; init; }

    /// <summary><c>max_position_embeddings</c>: longest token sequence (the tokenizer's maximum length).</summary>
    public int MaxLength { get; init; }

    /// <summary><c>hidden_size</c>: width of every token state and of the output.</summary>
    public int Width { get; init; }

    /// <summary><c>num_hidden_layers</c>: transformer layers.</summary>
    public int Layers { get; init; }

    /// <summary><c>num_attention_heads</c>: heads of each self-attention; must divide <see cref="Width"/>.</summary>
    public int Heads { get; init; }

    /// <summary><c>intermediate_size</c>: hidden width of each MLP.</summary>
    public int IntermediateSize { get; init; }

    /// <summary><c>layer_norm_eps</c>.</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>For tests; pairs with <see cref="UNetConfig.Tiny"/> (width 32). Set the vocabulary size from the tokenizer.</summary>
    public static TextEncoderConfig Tiny { get; } = new()
    {
        VocabSize = 64,
        MaxLength = 8,
        Width = 32,
        Layers = 1,
        Heads = 2,
        IntermediateSize = 128,
    };

    /// <summary>For the demo; pairs with <see cref="UNetConfig.Small"/> (width 64). Set the vocabulary size from the tokenizer.</summary>
    public static TextEncoderConfig Small { get; } = new()
    {
        VocabSize = 1024,
        MaxLength = 16,
        Width = 64,
        Layers = 2,
        Heads = 4,
        IntermediateSize = 256,
    };

    /// <summary>
    /// Stable Diffusion 1.x's text encoder, OpenAI CLIP ViT-L/14's text model (Hugging Face
    /// <c>openai/clip-vit-large-patch14</c>): 49,408 tokens, 77 positions, width 768, 12 layers of 12 heads,
    /// MLP 3072, quick GELU, causal mask — 123,060,480 parameters in 196 tensors. Pairs with <see cref="UNetConfig.Sd15"/>.
    /// </summary>
    public static TextEncoderConfig ClipVitL14 { get; } = new()
    {
        VocabSize = 49408,
        MaxLength = 77,
        Width = 768,
        Layers = 12,
        Heads = 12,
        IntermediateSize = 3072,
    };

    /// <summary>The names <see cref="FromPreset"/> accepts.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = Array.AsReadOnly(new[] { "tiny", "small", "tiny-sd", "sd15" });

    /// <summary>A preset by name ("tiny" and "tiny-sd" = <see cref="Tiny"/>, "small", "sd15" = <see cref="ClipVitL14"/>; case-insensitive).</summary>
    public static TextEncoderConfig FromPreset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "tiny" or "tiny-sd" => Tiny,
            "small" => Small,
            "sd15" => ClipVitL14,
            _ => throw new KohyaException("UnknownModelPreset", KohyaErrorKind.InvalidArgument,
                $"There is no text encoder preset named '{name}'. Known presets: {string.Join(", ", PresetNames)}.", target: name)
            {
                RecommendedAction = $"Use one of: {string.Join(", ", PresetNames)}.",
            },
        };
    }

    /// <summary>
    /// A text encoder whose width is <paramref name="unet"/>'s cross-attention width, for a tokenizer of the given
    /// size. Layers, heads and MLP width come from the preset of that width (tiny: 32, small: 64, CLIP ViT-L/14: 768); any other width
    /// gets 2 layers, heads of 64 channels (one head if the width is not a multiple of 64) and a 4× MLP.
    /// </summary>
    public static TextEncoderConfig ForUNet(UNetConfig unet, int vocabSize, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(unet);
        int width = unet.CrossAttentionDim;
        var shape = new[] { Tiny, Small, ClipVitL14 }.FirstOrDefault(p => p.Width == width)
            ?? new TextEncoderConfig
            {
                Width = width,
                Layers = 2,
                Heads = width % 64 == 0 ? width / 64 : 1,
                IntermediateSize = 4 * width,
            };
        var config = shape with { VocabSize = vocabSize, MaxLength = maxLength };
        config.Validate();
        return config;
    }

    /// <summary>A config for <paramref name="tokenizer"/> paired with <paramref name="unet"/>.</summary>
    public static TextEncoderConfig ForUNet(UNetConfig unet, WordTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return ForUNet(unet, tokenizer.VocabularySize, tokenizer.MaxLength);
    }

    /// <summary>Checks every field; throws <see cref="KohyaException"/> "InvalidModelConfig" naming the first bad one.</summary>
    public void Validate()
    {
        Require(VocabSize >= 3, nameof(VocabSize), "vocab_size", $"must be at least 3 (the special tokens), not {VocabSize}.");
        Require(MaxLength > 0, nameof(MaxLength), "max_position_embeddings", $"must be positive, not {MaxLength}.");
        Require(Width > 0, nameof(Width), "hidden_size", $"must be positive, not {Width}.");
        Require(Layers > 0, nameof(Layers), "num_hidden_layers", $"must be positive, not {Layers}.");
        Require(Heads > 0 && Width % Heads == 0, nameof(Heads), "num_attention_heads",
            $"must be a positive divisor of Width ({Width}), not {Heads}.");
        Require(IntermediateSize > 0, nameof(IntermediateSize), "intermediate_size", $"must be positive, not {IntermediateSize}.");
        Require(double.IsFinite(LayerNormEps) && LayerNormEps > 0, nameof(LayerNormEps), "layer_norm_eps",
            $"must be a positive finite number, not {LayerNormEps.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>Every state-dict entry's name and shape, from a build on the <c>meta</c> device (no storage).</summary>
    public IReadOnlyDictionary<string, long[]> ParameterShapes()
    {
        Validate();
        using var model = new TextEncoder(this, new Device(DeviceType.META));
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal);
    }

    /// <summary>How many state-dict tensors and scalar parameters the model has.</summary>
    public ModelParameterCount CountParameters() => ModelParameterCount.FromShapes(ParameterShapes().Values);

    private static void Require(bool condition, string property, string clipName, string problem)
    {
        if (condition)
            return;
        throw new KohyaException("InvalidModelConfig", KohyaErrorKind.InvalidArgument,
            $"Text encoder config {property} ({clipName}) {problem}", target: property)
        {
            RecommendedAction = $"Correct {property} in the model configuration.",
        };
    }
}
