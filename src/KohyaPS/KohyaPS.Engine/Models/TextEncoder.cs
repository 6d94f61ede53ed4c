using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// A small CLIP-style text encoder producing the UNet's <c>encoder_hidden_states</c>: token + position
/// embeddings, pre-LN causal transformer layers, final LayerNorm. State-dict names follow Hugging Face's
/// <c>CLIPTextTransformer</c> (<c>embeddings.token_embedding</c>, <c>encoder.layers.N.self_attn.q_proj</c>, …,
/// <c>final_layer_norm</c>; a <c>CLIPTextModel</c> checkpoint adds the prefix <c>text_model.</c>), so a real CLIP
/// text model can grow out of it (<see cref="TextEncoderConfig.ClipVitL14"/> is SD1.x's). Causal attention means a
/// position never sees the padding after it. <see cref="Encode(Tensor, int)"/> implements kohya's <c>clip_skip</c>.
/// </summary>
public sealed class TextEncoder : nn.Module<Tensor, Tensor>
{
    private readonly TextEmbeddings embeddings;
    private readonly TextTransformer encoder;
    private readonly LayerNorm final_layer_norm;

    /// <summary>Builds the encoder; throws <see cref="KohyaException"/> "InvalidModelConfig" for a bad config.</summary>
    public TextEncoder(TextEncoderConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(TextEncoder))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        embeddings = new TextEmbeddings(config.VocabSize, config.MaxLength, config.Width, device, dtype);
        encoder = new TextTransformer(config, device, dtype);
        final_layer_norm = ModelLayers.LayerNorm(config.Width, config.LayerNormEps, device, dtype);
        RegisterComponents();
    }

    /// <summary>The (validated) shape this model was built from.</summary>
    public TextEncoderConfig Config { get; }

    /// <param name="ids">[B, L] int64 token ids, L ≤ MaxLength, each id below VocabSize.</param>
    /// <returns>[B, L, Width]</returns>
    public override Tensor forward(Tensor ids) => Encode(ids, 1);

    /// <summary>
    /// The conditioning with kohya's <c>clip_skip</c>: the hidden states after the <paramref name="clipSkip"/>-th
    /// layer from the end (1 = the last layer, the plain output; 2 = the one before, SD1 anime models' usual
    /// setting), with <c>final_layer_norm</c> applied as sd-scripts does. Later layers are not run.
    /// </summary>
    /// <param name="ids">[B, L] int64 token ids, L ≤ MaxLength, each id below VocabSize.</param>
    /// <param name="clipSkip">1 … Layers.</param>
    /// <returns>[B, L, Width]</returns>
    public Tensor Encode(Tensor ids, int clipSkip)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (clipSkip < 1 || clipSkip > Config.Layers)
            throw new KohyaException("InvalidClipSkip", KohyaErrorKind.InvalidArgument,
                $"clip_skip must lie between 1 (the last layer) and the number of layers ({Config.Layers}), not {clipSkip}.", target: clipSkip)
            {
                RecommendedAction = "Use clip_skip 1 (no skip) or 2 (the usual SD1 setting).",
            };
        if (ids.dim() != 2 || ids.shape[1] > Config.MaxLength || ids.shape[1] < 1 || ids.dtype != ScalarType.Int64)
            throw BadInput($"ids must be int64 [B, L] with 1 ≤ L ≤ {Config.MaxLength}, not {ids.dtype} [{string.Join(", ", ids.shape)}].");
        using var scope = torch.NewDisposeScope();
        if (ids.device.type != DeviceType.META && ids.numel() > 0)
        {
            long min = ids.min().item<long>(), max = ids.max().item<long>();
            if (min < 0 || max >= Config.VocabSize)
                throw BadInput($"token ids must lie in [0, {Config.VocabSize}), found [{min}, {max}].");
        }
        var embedded = embeddings.forward(ids);
        var hidden = encoder.forward(embedded, Config.Layers - clipSkip + 1);
        return final_layer_norm.forward(hidden).MoveToOuterDisposeScope();
    }

    private static KohyaException BadInput(string message) =>
        new("InvalidModelInput", KohyaErrorKind.InvalidArgument, "Text encoder input: " + message);
}
