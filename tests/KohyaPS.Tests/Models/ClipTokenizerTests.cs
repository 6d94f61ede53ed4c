using KohyaPS.Engine;
using KohyaPS.Engine.Models.Clip;
using TorchSharp;

namespace KohyaPS.Tests.Models;

/// <summary>
/// Hand-worked BPE on tests/corpus/clip-bpe: 41 tokens (ids 0–40, &lt;|startoftext|&gt; 39, &lt;|endoftext|&gt; 40) and
/// ten merges in rank order: c a, ca t&lt;/w&gt;, t h, th e&lt;/w&gt;, d o, do g&lt;/w&gt;, t s&lt;/w&gt;, ca ts&lt;/w&gt;, a t&lt;/w&gt;, ' s&lt;/w&gt;.
/// </summary>
public sealed class ClipTokenizerTests
{
    private static readonly string Fixture = Path.Combine(TestPaths.RepoRoot, "tests", "corpus", "clip-bpe");

    private static ClipTokenizer Load(int maxLength = 8) =>
        ClipTokenizer.FromFiles(Path.Combine(Fixture, "vocab.json"), Path.Combine(Fixture, "merges.txt"), maxLength);

    [Theory]
    // c,a,t</w>: (c a) rank 0 beats (a t</w>) rank 8 → ca,t</w> → cat</w>.
    [InlineData("cat", new[] { "cat</w>" })]
    // c,a,t,s</w> → ca,t,s</w> → (ca t) is no rule, (t s</w>) is → ca,ts</w> → cats</w>.
    [InlineData("cats", new[] { "cats</w>" })]
    // h,a,t</w>: only (a t</w>) applies → h, at</w>.
    [InlineData("hat", new[] { "h", "at</w>" })]
    // t,h,a,t</w>: (t h) rank 2 first → th,a,t</w> → (a t</w>) → th, at</w>.
    [InlineData("that", new[] { "th", "at</w>" })]
    // Contraction split by the regex; (' s</w>) merges it.
    [InlineData("The dog's", new[] { "the</w>", "dog</w>", "'s</w>" })]
    // Whitespace runs collapse, case folds, HTML entities decode, punctuation and single digits are pieces.
    [InlineData("  A&amp;B\t 12 ", new[] { "a</w>", "&</w>", "b</w>", "1</w>", "2</w>" })]
    // é is UTF-8 C3 A9 → byte characters Ã and ©, the last one ending the word.
    [InlineData("é", new[] { "Ã", "©</w>" })]
    [InlineData("cat!", new[] { "cat</w>", "!</w>" })]
    public void TokenizesAsWorkedByHand(string text, string[] expected) =>
        Assert.Equal(expected, Load().Tokenize(text));

    [Fact]
    public void EncodeAddsBeginAndEndAndPadsWithEnd()
    {
        var tok = Load();
        Assert.Equal((39, 40, 40), (tok.BeginId, tok.EndId, tok.PadId));
        Assert.Equal(41, tok.VocabularySize);
        Assert.Equal(10, tok.MergeCount);
        Assert.Equal(new long[] { 39, 32, 30, 40, 40, 40, 40, 40 }, tok.Encode("the cat"));
        Assert.Equal(new long[] { 39, 40, 40, 40, 40, 40, 40, 40 }, tok.Encode(""));
        // x</w> is not in the vocabulary: the unknown token is <|endoftext|>.
        Assert.Equal(new long[] { 39, 30, 40, 40, 40, 40, 40, 40 }, tok.Encode("cat x"));
    }

    [Fact]
    public void LongCaptionsAreTruncatedBeforeTheEndToken()
    {
        var tok = Load(maxLength: 5);
        Assert.Equal(new long[] { 39, 30, 34, 36, 40 }, tok.Encode("cat dog cats the dog"));
    }

    [Fact]
    public void EncodeBatchStacksCaptions()
    {
        using var ids = Load().EncodeBatch(new[] { "cat", "dog" });
        Assert.Equal(new long[] { 2, 8 }, ids.shape);
        Assert.Equal(torch.ScalarType.Int64, ids.dtype);
        Assert.Equal(34L, ids[1, 1].item<long>());
    }

    [Fact]
    public void ByteTableMatchesClip()
    {
        Assert.Equal('!', ClipByteEncoder.ForByte((byte)'!'));
        Assert.Equal('\u0100', ClipByteEncoder.ForByte(0));
        Assert.Equal('\u0120', ClipByteEncoder.ForByte((byte)' ')); // GPT-2's well-known "Ġ"
        Assert.Equal(256, Enumerable.Range(0, 256).Select(b => ClipByteEncoder.ForByte((byte)b)).Distinct().Count());
    }

    [Fact]
    public void BrokenFilesAreRefusedWithSpecificIds()
    {
        string dir = Directory.CreateTempSubdirectory("kohya-clip-").FullName;
        try
        {
            string vocab = Path.Combine(dir, "vocab.json"), merges = Path.Combine(dir, "merges.txt");
            File.WriteAllText(merges, "#version: 0.2\nc a b\n");
            File.Copy(Path.Combine(Fixture, "vocab.json"), vocab);
            Assert.Equal("InvalidTokenizerMerges", Assert.Throws<KohyaException>(() => ClipTokenizer.FromFiles(vocab, merges)).ErrorId);
            File.WriteAllText(merges, "c a\n");
            File.WriteAllText(vocab, "{\"a</w>\": 0, \"<|endoftext|>\": 1}");
            var ex = Assert.Throws<KohyaException>(() => ClipTokenizer.FromFiles(vocab, merges));
            Assert.Equal("InvalidTokenizerVocabulary", ex.ErrorId);
            Assert.Contains("<|startoftext|>", ex.Message, StringComparison.Ordinal);
            File.WriteAllText(vocab, "[1, 2]");
            Assert.Equal("InvalidTokenizerVocabulary", Assert.Throws<KohyaException>(() => ClipTokenizer.FromFiles(vocab, merges)).ErrorId);
            File.WriteAllText(vocab, "{\"<|startoftext|>\": 0, \"<|endoftext|>\": 0}");
            Assert.Equal("InvalidTokenizerVocabulary", Assert.Throws<KohyaException>(() => ClipTokenizer.FromFiles(vocab, merges)).ErrorId);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
