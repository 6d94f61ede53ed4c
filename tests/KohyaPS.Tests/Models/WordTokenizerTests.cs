using KohyaPS.Engine;
using KohyaPS.Engine.Models;
using TorchSharp;

namespace KohyaPS.Tests.Models;

public sealed class WordTokenizerTests
{
    private static readonly string[] Captions = { "A red cat, sitting", "a BLUE dog; running!", "red  dog" };

    [Fact]
    public void VocabularyIsSpecialsThenSortedDistinctLowerCaseWords()
    {
        var tok = WordTokenizer.FromCaptions(Captions, 6);
        Assert.Equal(new[] { "<pad>", "<unk>", "<bos>", "a", "blue", "cat", "dog", "red", "running", "sitting" }, tok.Vocabulary);
        Assert.Equal(10, tok.VocabularySize);
        Assert.Equal(6, tok.MaxLength);
    }

    [Fact]
    public void VocabularyDoesNotDependOnCaptionOrder()
    {
        var a = WordTokenizer.FromCaptions(Captions, 6);
        var b = WordTokenizer.FromCaptions(Captions.Reverse(), 6);
        Assert.Equal(a.Vocabulary, b.Vocabulary);
    }

    [Fact]
    public void EncodeStartsWithBeginAndPads()
    {
        var tok = WordTokenizer.FromCaptions(Captions, 6);
        Assert.Equal(new long[] { 2, 7, 5, 0, 0, 0 }, tok.Encode("Red, CAT."));
    }

    [Fact]
    public void UnknownWordsMapToTheUnknownId()
    {
        var tok = WordTokenizer.FromCaptions(Captions, 6);
        Assert.Equal(new long[] { 2, 3, 1, 6, 0, 0 }, tok.Encode("a green dog"));
        Assert.Equal(WordTokenizer.UnknownId, tok.IdOf("<bos>")); // special tokens are not words
    }

    [Fact]
    public void LongCaptionsAreTruncated()
    {
        var tok = WordTokenizer.FromCaptions(Captions, 4);
        Assert.Equal(new long[] { 2, 3, 7, 5 }, tok.Encode("a red cat sitting running"));
    }

    [Fact]
    public void EmptyCaptionIsTheUnconditionalPrompt()
    {
        var tok = WordTokenizer.FromCaptions(Captions, 5);
        Assert.Equal(new long[] { 2, 0, 0, 0, 0 }, tok.Encode(""));
        Assert.Equal(new long[] { 2, 0, 0, 0, 0 }, tok.Encode(" ,;! "));
    }

    [Fact]
    public void SplitsOnWhitespaceAndPunctuation()
    {
        Assert.Equal(new[] { "sks", "cat", "s", "photo", "4k", "été" }, WordTokenizer.SplitWords("sks\tcat's\nphoto,4K (ÉTÉ)"));
    }

    [Fact]
    public void RoundTripsFromVocabularyAndMaxLength()
    {
        var original = WordTokenizer.FromCaptions(Captions, 6);
        var restored = new WordTokenizer(original.Vocabulary.ToList(), original.MaxLength);
        Assert.Equal(original.Vocabulary, restored.Vocabulary);
        Assert.Equal(original.MaxLength, restored.MaxLength);
        foreach (string caption in Captions.Append("unknown words, red"))
            Assert.Equal(original.Encode(caption), restored.Encode(caption));
    }

    [Fact]
    public void RestoringKeepsIdsEvenWhenUnsorted()
    {
        var tok = new WordTokenizer(new[] { "<pad>", "<unk>", "<bos>", "zebra", "apple" }, 3);
        Assert.Equal(new long[] { 2, 4, 3 }, tok.Encode("apple zebra"));
    }

    [Theory]
    [InlineData("<unk>|<pad>|<bos>|a")]
    [InlineData("<pad>|<unk>|<bos>|a|a")]
    [InlineData("<pad>|<unk>|<bos>|Cat")]
    [InlineData("<pad>|<unk>|<bos>|two words")]
    [InlineData("<pad>|<unk>|<bos>|")]
    [InlineData("<pad>|<unk>")]
    public void BadVocabularyIsRejected(string joined)
    {
        var ex = Assert.Throws<KohyaException>(() => new WordTokenizer(joined.Split('|'), 4));
        Assert.Equal("InvalidTokenizerVocabulary", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidData, ex.Kind);
    }

    [Fact]
    public void MaxLengthMustHoldAWord()
    {
        var ex = Assert.Throws<KohyaException>(() => WordTokenizer.FromCaptions(Captions, 1));
        Assert.Equal("InvalidTokenizerMaxLength", ex.ErrorId);
    }

    [Fact]
    public void EncodeBatchIsALongTensor()
    {
        var tok = WordTokenizer.FromCaptions(Captions, 4);
        using var ids = tok.EncodeBatch(new[] { "red cat", "" });
        Assert.Equal(torch.ScalarType.Int64, ids.dtype);
        Assert.Equal(new long[] { 2, 4 }, ids.shape);
        Assert.Equal(new long[] { 2, 7, 5, 0, 2, 0, 0, 0 }, ids.data<long>().ToArray());
    }
}
