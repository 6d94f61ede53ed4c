using KohyaPS.Engine.Checkpoints;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// Turns captions into the token ids a <see cref="TextEncoder"/> reads: the demo's <see cref="WordTokenizer"/> (pixel
/// presets) or CLIP's byte-level BPE <see cref="Clip.ClipTokenizer"/> (latent presets and real Stable Diffusion models).
/// </summary>
public interface ICaptionTokenizer
{
    /// <summary>Largest id + 1: the text encoder's vocabulary size must be at least this.</summary>
    int VocabularySize { get; }

    /// <summary>Length of every encoded caption, special tokens included.</summary>
    int MaxLength { get; }

    /// <summary>Encodes captions into a [B, MaxLength] int64 tensor.</summary>
    Tensor EncodeBatch(IReadOnlyList<string> captions, Device? device = null);

    /// <summary>What a checkpoint's state.json records so that resume rebuilds (or checks) exactly this tokenizer.</summary>
    TokenizerState Describe();
}
