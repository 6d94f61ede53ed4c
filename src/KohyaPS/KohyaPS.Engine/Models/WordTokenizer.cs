using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// A whole-word tokenizer for the demo's small text encoder. Captions are lower-cased (invariant culture) and
/// split into words, a word being a maximal run of Unicode letters, digits and combining marks (so whitespace,
/// commas, other punctuation and symbols separate words and are dropped). The vocabulary is
/// [<c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;bos&gt;</c>] followed by the distinct words of the training
/// captions in ordinal order, so the same captions always give the same ids. An encoded caption is always
/// <see cref="MaxLength"/> ids: begin, the first MaxLength − 1 words (longer captions are truncated; unknown
/// words become <see cref="UnknownId"/>), then padding. The empty caption is begin + padding: the unconditional
/// prompt for classifier-free guidance. <see cref="Vocabulary"/> and <see cref="MaxLength"/> restore it exactly.
/// </summary>
public sealed class WordTokenizer : ICaptionTokenizer
{
    /// <summary>Id of padding after the caption's words.</summary>
    public const long PadId = 0;

    /// <summary>Id of a word that is not in the vocabulary.</summary>
    public const long UnknownId = 1;

    /// <summary>Id that starts every encoded caption.</summary>
    public const long BeginId = 2;

    public const string PadToken = "<pad>";
    public const string UnknownToken = "<unk>";
    public const string BeginToken = "<bos>";

    private static readonly string[] SpecialTokens = { PadToken, UnknownToken, BeginToken };

    private readonly string[] _vocabulary;
    private readonly Dictionary<string, long> _ids;

    /// <summary>Restores a tokenizer from its <see cref="Vocabulary"/> and <see cref="MaxLength"/>, keeping every id.</summary>
    /// <exception cref="KohyaException">"InvalidTokenizerVocabulary" or "InvalidTokenizerMaxLength".</exception>
    public WordTokenizer(IEnumerable<string> vocabulary, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (maxLength < 2)
            throw new KohyaException("InvalidTokenizerMaxLength", KohyaErrorKind.InvalidArgument,
                $"The tokenizer's maximum length must be at least 2 (the begin id and one word), not {maxLength}.", target: maxLength);
        _vocabulary = vocabulary.ToArray();
        for (int i = 0; i < SpecialTokens.Length; i++)
        {
            if (_vocabulary.Length <= i || _vocabulary[i] != SpecialTokens[i])
                throw BadVocabulary($"entry {i} must be '{SpecialTokens[i]}'.");
        }
        _ids = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < _vocabulary.Length; i++)
        {
            string word = _vocabulary[i];
            if (i >= SpecialTokens.Length)
            {
                var split = SplitWords(word ?? "");
                if (split.Count != 1 || split[0] != word)
                    throw BadVocabulary($"entry {i} ('{word}') is not a single lower-case word.");
            }
            if (!_ids.TryAdd(word!, i))
                throw BadVocabulary($"entry {i} ('{word}') appears twice.");
        }
        Vocabulary = Array.AsReadOnly(_vocabulary);
        MaxLength = maxLength;
    }

    /// <summary>Every token, indexed by id: the three special tokens, then the words.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>Number of ids (the text encoder's vocabulary size).</summary>
    public int VocabularySize => _vocabulary.Length;

    /// <summary>Length of every encoded caption, begin id included.</summary>
    public int MaxLength { get; }

    /// <summary>Builds the vocabulary from training captions (null captions count as empty).</summary>
    public static WordTokenizer FromCaptions(IEnumerable<string?> captions, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(captions);
        var words = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string? caption in captions)
            words.UnionWith(SplitWords(caption ?? ""));
        return new WordTokenizer(SpecialTokens.Concat(words), maxLength);
    }

    /// <summary>The words of a caption as this tokenizer sees them (lower-cased, separators dropped).</summary>
    public static IReadOnlyList<string> SplitWords(string caption)
    {
        ArgumentNullException.ThrowIfNull(caption);
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (var rune in caption.ToLowerInvariant().EnumerateRunes())
        {
            if (IsWordRune(rune))
            {
                current.Append(rune.ToString());
            }
            else if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }
        if (current.Length > 0)
            words.Add(current.ToString());
        return words;
    }

    /// <summary>The id of one word (<see cref="UnknownId"/> when it is not in the vocabulary).</summary>
    public long IdOf(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        return _ids.TryGetValue(word, out long id) && id >= SpecialTokens.Length ? id : UnknownId;
    }

    /// <summary>Encodes one caption into exactly <see cref="MaxLength"/> ids.</summary>
    public long[] Encode(string caption)
    {
        ArgumentNullException.ThrowIfNull(caption);
        var ids = new long[MaxLength]; // zero-filled: PadId
        ids[0] = BeginId;
        var words = SplitWords(caption);
        for (int i = 0; i < words.Count && i + 1 < MaxLength; i++)
            ids[i + 1] = IdOf(words[i]);
        return ids;
    }

    /// <summary>The whole vocabulary and length: the word tokenizer is restored from the checkpoint itself.</summary>
    public Checkpoints.TokenizerState Describe() => new() { Kind = Checkpoints.TokenizerState.WordKind, Vocabulary = Vocabulary.ToList(), MaxLength = MaxLength };

    /// <summary>Encodes captions into a [B, MaxLength] int64 tensor.</summary>
    public Tensor EncodeBatch(IReadOnlyList<string> captions, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(captions);
        var ids = new long[captions.Count * MaxLength];
        for (int b = 0; b < captions.Count; b++)
            Array.Copy(Encode(captions[b]), 0, ids, b * MaxLength, MaxLength);
        return torch.tensor(ids, new long[] { captions.Count, MaxLength }, device: device);
    }

    private static bool IsWordRune(Rune rune) =>
        Rune.IsLetterOrDigit(rune)
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;

    private static KohyaException BadVocabulary(string problem) =>
        new("InvalidTokenizerVocabulary", KohyaErrorKind.InvalidData, "Tokenizer vocabulary: " + problem)
        {
            RecommendedAction = "Restore the tokenizer from the vocabulary list saved with the checkpoint, unchanged.",
        };
}
