using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Clip;

/// <summary>
/// CLIP's byte-level BPE tokenizer (Hugging Face <c>CLIPTokenizer</c>), reading the <c>vocab.json</c> and
/// <c>merges.txt</c> shipped with a model. A caption is cleaned (HTML entities decoded twice, Unicode NFC, every
/// whitespace run → one space, trimmed, lower-cased; ftfy's mojibake repair is not done), split by CLIP's regex
/// (<c>&lt;|startoftext|&gt;</c>, <c>&lt;|endoftext|&gt;</c>, the contractions 's 't 're 've 'm 'll 'd, runs of letters,
/// single digits, runs of other non-space characters), each piece's UTF-8 bytes mapped through
/// <see cref="ClipByteEncoder"/>, <c>&lt;/w&gt;</c> appended to its last character, and the lowest-ranked adjacent
/// pair merged until no listed pair is left. Encoded captions are always <see cref="MaxLength"/> ids:
/// <see cref="BeginId"/>, at most MaxLength − 2 tokens (longer captions are truncated), <see cref="EndId"/>, then
/// <see cref="PadId"/> (SD1 pads with the end token). Pieces missing from the vocabulary become the end token
/// (CLIP's unknown token). Immutable apart from a cache of words already split; safe to share between threads.
/// </summary>
public sealed class ClipTokenizer : ICaptionTokenizer
{
    public const string BeginToken = "<|startoftext|>";
    public const string EndToken = "<|endoftext|>";
    public const string EndOfWord = "</w>";

    /// <summary>CLIP's context length.</summary>
    public const int DefaultMaxLength = 77;

    private static readonly Regex Pieces = new(
        @"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+",
        RegexOptions.CultureInvariant | RegexOptions.Compiled);

    private static readonly Regex Whitespace = new(@"\s+", RegexOptions.CultureInvariant | RegexOptions.Compiled);

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(string, string), int> _ranks;
    private readonly ConcurrentDictionary<string, string[]> _cache = new(StringComparer.Ordinal);

    /// <summary>A tokenizer from a vocabulary (token → id) and merges in rank order (first = merged first).</summary>
    /// <exception cref="KohyaException">"InvalidTokenizerVocabulary", "InvalidTokenizerMerges" or "InvalidTokenizerMaxLength".</exception>
    public ClipTokenizer(IReadOnlyDictionary<string, int> vocabulary, IEnumerable<(string Left, string Right)> merges,
        int maxLength = DefaultMaxLength, string padToken = EndToken)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(merges);
        ArgumentNullException.ThrowIfNull(padToken);
        if (maxLength < 2)
            throw new KohyaException("InvalidTokenizerMaxLength", KohyaErrorKind.InvalidArgument,
                $"The tokenizer's maximum length must be at least 2 (the begin and end tokens), not {maxLength}.", target: maxLength);
        _vocab = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        var seen = new HashSet<int>();
        foreach (var (token, id) in _vocab)
        {
            if (id < 0 || !seen.Add(id))
                throw Bad("InvalidTokenizerVocabulary", $"token '{token}' has id {id}, which is negative or used twice.");
        }
        BeginId = Special(BeginToken);
        EndId = Special(EndToken);
        PadId = Special(padToken);
        VocabularySize = seen.Max() + 1;
        _ranks = new Dictionary<(string, string), int>();
        int rank = 0;
        foreach (var (left, right) in merges)
        {
            if (string.IsNullOrEmpty(left) || string.IsNullOrEmpty(right))
                throw Bad("InvalidTokenizerMerges", $"merge {rank + 1} has an empty side.");
            _ranks.TryAdd((left, right), rank++);
        }
        MaxLength = maxLength;
        _padToken = padToken;
        _identity = new Lazy<string>(ComputeIdentity);
    }

    private readonly string _padToken;
    private readonly Lazy<string> _identity;

    /// <summary>Id of <c>&lt;|startoftext|&gt;</c> (49406 in CLIP's vocabulary).</summary>
    public int BeginId { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (49407 in CLIP's vocabulary); also the unknown token.</summary>
    public int EndId { get; }

    /// <summary>Id that fills an encoded caption after the end token.</summary>
    public int PadId { get; }

    /// <summary>Largest id + 1: the text encoder's vocabulary size (49408 for CLIP).</summary>
    public int VocabularySize { get; }

    /// <summary>Length of every encoded caption, begin and end tokens included.</summary>
    public int MaxLength { get; }

    /// <summary>Number of merge rules.</summary>
    public int MergeCount => _ranks.Count;

    /// <summary>
    /// CLIP's byte-level alphabet without merges: the 256 byte symbols, the same 256 ending a word (ids 0–511, as in
    /// CLIP's own vocabulary), then the begin and end tokens (512, 513). Every caption becomes one token per character;
    /// nothing is unknown. What a seed-initialised latent model (Model.Path empty) tokenizes with: it needs no files.
    /// </summary>
    public static ClipTokenizer ByteLevel(int maxLength = DefaultMaxLength)
    {
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++)
            vocabulary[ClipByteEncoder.ForByte((byte)b).ToString()] = b;
        for (int b = 0; b < 256; b++)
            vocabulary[ClipByteEncoder.ForByte((byte)b) + EndOfWord] = 256 + b;
        vocabulary[BeginToken] = 512;
        vocabulary[EndToken] = 513;
        return new ClipTokenizer(vocabulary, Array.Empty<(string, string)>(), maxLength);
    }

    /// <summary>SHA-256 (hex) of the vocabulary in id order, the merges in rank order, the pad token and the length: equal for equal tokenizers.</summary>
    public string Identity => _identity.Value;

    /// <summary>A CLIP tokenizer is rebuilt from its files (or <see cref="ByteLevel"/>) on resume; the checkpoint records its size and <see cref="Identity"/> to check it.</summary>
    public Checkpoints.TokenizerState Describe() => new()
    {
        Kind = Checkpoints.TokenizerState.ClipKind,
        MaxLength = MaxLength,
        VocabularySize = VocabularySize,
        Sha256 = Identity,
    };

    private string ComputeIdentity()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Add(string line) => hash.AppendData(Encoding.UTF8.GetBytes(line + "\n"));
        foreach (var (token, id) in _vocab.OrderBy(kv => kv.Value))
            Add($"{id}\t{token}");
        foreach (var ((left, right), rank) in _ranks.OrderBy(kv => kv.Value))
            Add($"merge {rank} {left} {right}");
        Add($"pad {_padToken} length {MaxLength}");
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>Reads a model's <c>tokenizer/</c> files: <c>vocab.json</c> (token → id) and <c>merges.txt</c>.</summary>
    public static ClipTokenizer FromFiles(string vocabJsonPath, string mergesTxtPath, int maxLength = DefaultMaxLength, string padToken = EndToken)
    {
        ArgumentNullException.ThrowIfNull(vocabJsonPath);
        ArgumentNullException.ThrowIfNull(mergesTxtPath);
        Dictionary<string, int>? vocab;
        try
        {
            using var stream = File.OpenRead(vocabJsonPath);
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(stream);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            throw new KohyaException("InvalidTokenizerVocabulary", KohyaErrorKind.InvalidData,
                $"'{vocabJsonPath}' is not a JSON object of token → integer id: {ex.Message}", ex, vocabJsonPath)
            {
                RecommendedAction = "Use the vocab.json shipped in the model's tokenizer folder, unchanged.",
            };
        }
        var merges = ReadMerges(mergesTxtPath);
        return new ClipTokenizer(vocab ?? new Dictionary<string, int>(), merges, maxLength, padToken);
    }

    /// <summary>The cleaned, lower-cased caption the regex sees.</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string unescaped = WebUtility.HtmlDecode(WebUtility.HtmlDecode(text));
        string collapsed = Whitespace.Replace(unescaped.Normalize(NormalizationForm.FormC), " ").Trim();
        return collapsed.ToLowerInvariant();
    }

    /// <summary>The BPE tokens of a caption, without begin/end tokens and without truncation.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        foreach (Match piece in Pieces.Matches(Normalize(text)))
        {
            if (piece.Value is BeginToken or EndToken)
                tokens.Add(piece.Value);
            else
                tokens.AddRange(_cache.GetOrAdd(ClipByteEncoder.Encode(piece.Value), Merge));
        }
        return tokens;
    }

    /// <summary>Encodes one caption into exactly <see cref="MaxLength"/> ids.</summary>
    public long[] Encode(string text)
    {
        var tokens = Tokenize(text);
        var ids = new long[MaxLength];
        Array.Fill(ids, PadId);
        ids[0] = BeginId;
        int count = Math.Min(tokens.Count, MaxLength - 2);
        for (int i = 0; i < count; i++)
            ids[i + 1] = _vocab.TryGetValue(tokens[i], out int id) ? id : EndId;
        ids[count + 1] = EndId;
        return ids;
    }

    /// <summary>Encodes captions into a [B, MaxLength] int64 tensor.</summary>
    public Tensor EncodeBatch(IReadOnlyList<string> captions, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(captions);
        var ids = new long[captions.Count * MaxLength];
        for (int b = 0; b < captions.Count; b++)
            Array.Copy(Encode(captions[b]), 0, ids, b * MaxLength, MaxLength);
        return torch.tensor(ids, new long[] { captions.Count, MaxLength }, device: device);
    }

    private string[] Merge(string word)
    {
        var symbols = new List<string>(word.Length);
        for (int i = 0; i < word.Length; i++)
            symbols.Add(i == word.Length - 1 ? word[i] + EndOfWord : word[i].ToString());
        while (symbols.Count > 1)
        {
            int best = int.MaxValue;
            (string, string) bestPair = default;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out int rank) && rank < best)
                {
                    best = rank;
                    bestPair = (symbols[i], symbols[i + 1]);
                }
            }
            if (best == int.MaxValue)
                break;
            var merged = new List<string>(symbols.Count);
            for (int i = 0; i < symbols.Count; i++)
            {
                if (i + 1 < symbols.Count && symbols[i] == bestPair.Item1 && symbols[i + 1] == bestPair.Item2)
                {
                    merged.Add(bestPair.Item1 + bestPair.Item2);
                    i++;
                }
                else
                {
                    merged.Add(symbols[i]);
                }
            }
            symbols = merged;
        }
        return symbols.ToArray();
    }

    private static List<(string, string)> ReadMerges(string path)
    {
        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path, Encoding.UTF8))
        {
            lineNumber++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
                continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new KohyaException("InvalidTokenizerMerges", KohyaErrorKind.InvalidData,
                    $"'{path}' line {lineNumber}: a merge is two symbols separated by one space, not '{line}'.", target: path)
                {
                    RecommendedAction = "Use the merges.txt shipped in the model's tokenizer folder, unchanged.",
                };
            merges.Add((parts[0], parts[1]));
        }
        return merges;
    }

    private int Special(string token) =>
        _vocab.TryGetValue(token, out int id) ? id : throw Bad("InvalidTokenizerVocabulary", $"the special token '{token}' is missing.");

    private static KohyaException Bad(string id, string problem) =>
        new(id, KohyaErrorKind.InvalidData, "CLIP tokenizer: " + problem)
        {
            RecommendedAction = "Use the vocab.json and merges.txt shipped in the model's tokenizer folder, unchanged.",
        };
}
