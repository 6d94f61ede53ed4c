using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Clip;

namespace KohyaPS.Engine.Training;

/// <summary>
/// Where a run's tokenizer comes from. Pixel presets: the demo's word tokenizer, built from the captions at the start and
/// restored from state.json afterwards. Latent presets: CLIP's BPE tokenizer from Model.TokenizerPath, else the
/// diffusers folder's <c>tokenizer/</c>, else (a seed-initialised model) CLIP's byte-level alphabet — rebuilt the same way
/// on resume and checked against the identity the checkpoint recorded.
/// </summary>
public static class CaptionTokenizers
{
    /// <summary>The tokenizer a fresh run starts with.</summary>
    public static ICaptionTokenizer ForNewRun(ModelSection settings, IEnumerable<string> captions)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return ModelBlueprint.IsLatentPreset(settings.Preset) ? Clip(settings) : WordTokenizer.FromCaptions(captions, settings.MaxTokens);
    }

    /// <summary>The tokenizer a checkpoint was trained with; <c>TokenizerMismatch</c> when a CLIP tokenizer's files changed.</summary>
    public static ICaptionTokenizer FromState(ModelSection settings, TokenizerState state, string source)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(state);
        if (!state.IsClip)
            return new WordTokenizer(state.Vocabulary, state.MaxLength);
        var tokenizer = Clip(settings);
        if (tokenizer.Identity != state.Sha256 || tokenizer.MaxLength != state.MaxLength)
            throw new KohyaException("TokenizerMismatch", KohyaErrorKind.InvalidData,
                $"'{source}' was trained with tokenizer {state.Sha256?[..12]}… ({state.MaxLength} tokens), but {Describe(settings)} is now {tokenizer.Identity[..12]}… ({tokenizer.MaxLength} tokens); token ids would change meaning.",
                target: source)
            {
                RecommendedAction = "Put back the tokenizer files (vocab.json, merges.txt) the run was started with.",
            };
        return tokenizer;
    }

    /// <summary>Vocabulary size and caption length a checkpoint's tokenizer had, without reading any tokenizer file.</summary>
    public static (int VocabularySize, int MaxLength) ShapeOf(TokenizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.IsClip
            ? (state.VocabularySize ?? 0, state.MaxLength)
            : (new WordTokenizer(state.Vocabulary, state.MaxLength).VocabularySize, state.MaxLength);
    }

    private static ClipTokenizer Clip(ModelSection settings)
    {
        // A missing or pickled model is the first thing to say, before anything about its tokenizer.
        bool folder = !string.IsNullOrEmpty(settings.Path) && Loading.StableDiffusionLoader.CheckSource(settings.Path);
        if (!string.IsNullOrEmpty(settings.TokenizerPath))
            return FromFolder(settings.TokenizerPath, "Model.TokenizerPath", settings.MaxTokens);
        if (!string.IsNullOrEmpty(settings.Path))
        {
            if (folder)
                return FromFolder(Path.Combine(settings.Path, "tokenizer"), "Model.Path", settings.MaxTokens);
            throw new KohyaException("TokenizerMissing", KohyaErrorKind.InvalidArgument,
                $"Model.Path '{settings.Path}' is a single file, which carries no tokenizer.", target: "Model.TokenizerPath")
            {
                RecommendedAction = "Set Model.TokenizerPath to a folder with CLIP's vocab.json and merges.txt (the tokenizer/ folder of the model's diffusers release).",
            };
        }
        return ClipTokenizer.ByteLevel(settings.MaxTokens);
    }

    private static ClipTokenizer FromFolder(string folder, string option, int maxLength)
    {
        string vocab = Path.Combine(folder, "vocab.json"), merges = Path.Combine(folder, "merges.txt");
        foreach (string file in new[] { vocab, merges })
            if (!File.Exists(file))
                throw new KohyaException("TokenizerMissing", KohyaErrorKind.ObjectNotFound,
                    $"{option}: the tokenizer file '{file}' is missing.", target: file)
                {
                    RecommendedAction = "Give a folder holding CLIP's vocab.json and merges.txt.",
                };
        return ClipTokenizer.FromFiles(vocab, merges, maxLength);
    }

    private static string Describe(ModelSection settings) =>
        !string.IsNullOrEmpty(settings.TokenizerPath) ? $"Model.TokenizerPath '{settings.TokenizerPath}'"
        : !string.IsNullOrEmpty(settings.Path) ? $"the tokenizer of Model.Path '{settings.Path}'"
        : "the byte-level tokenizer";
}
