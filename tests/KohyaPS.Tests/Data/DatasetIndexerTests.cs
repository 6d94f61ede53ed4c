using KohyaPS.Engine;
using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Data;

public sealed class DatasetIndexerTests
{
    [Fact]
    public void IndexIsSortedByRelativePathOrdinalWithSizesFromHeaders()
    {
        using var tmp = new TempDirectory();
        string dir = tmp.Folder("1_x");
        DataTestFiles.Captioned(dir, "b.png", "b", 24, 16);
        DataTestFiles.Captioned(dir, "B.png", "B", 16, 24);
        DataTestFiles.Captioned(dir, "a.jpeg.png", "a", 16, 16);
        DataTestFiles.Captioned(dir, "c.PNG", "c", 8, 8);
        File.WriteAllText(Path.Combine(dir, "notes.md"), "not an image");
        File.WriteAllText(Path.Combine(dir, ".hidden.png"), "hidden files are skipped");

        var index = DatasetIndexer.Open(tmp.Path);

        Assert.Equal(new[] { "1_x/B.png", "1_x/a.jpeg.png", "1_x/b.png", "1_x/c.PNG" }, index.Entries.Select(e => e.RelativePath));
        Assert.Equal((16, 24), (index[0].Width, index[0].Height));
        Assert.Equal((24, 16), (index[2].Width, index[2].Height));
        Assert.Equal("a", index[1].Caption);
        Assert.Equal(Path.Combine(dir, "b.png"), index[2].AbsolutePath);
    }

    [Fact]
    public void CaptionIsTheTrimmedFirstLine()
    {
        using var tmp = new TempDirectory();
        string img = DataTestFiles.Png(Path.Combine(tmp.Folder("1_x"), "a.png"), 8, 8);
        File.WriteAllText(Path.ChangeExtension(img, ".txt"), "\uFEFF  red, circle  \nsecond line ignored\n");
        var index = DatasetIndexer.Open(tmp.Path);
        Assert.Equal("red, circle", index[0].Caption);
    }

    [Fact]
    public void EmptyCaptionFileGivesEmptyCaptionAndAWarning()
    {
        using var tmp = new TempDirectory();
        string img = DataTestFiles.Png(Path.Combine(tmp.Folder("1_cat"), "a.png"), 8, 8);
        File.WriteAllText(Path.ChangeExtension(img, ".txt"), "");
        var index = DatasetIndexer.Open(tmp.Path);
        Assert.Equal("", index[0].Caption);
        Assert.Contains(index.Warnings, w => w.Contains("empty", StringComparison.Ordinal));
    }

    [Fact]
    public void ImageWithoutCaptionAndWithoutClassTokensIsCaptionMissing()
    {
        using var tmp = new TempDirectory();
        string img = DataTestFiles.Png(Path.Combine(tmp.Folder("5_"), "lonely.png"), 8, 8);
        var ex = Assert.Throws<KohyaException>(() => DatasetIndexer.Open(tmp.Path));
        Assert.Equal("CaptionMissing", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidData, ex.Kind);
        Assert.Equal(img, ex.Target);
        Assert.Contains("lonely.txt", ex.Message);
    }

    [Fact]
    public void GarbageImageIsImageUndecodableNamingTheFile()
    {
        using var tmp = new TempDirectory();
        string dir = tmp.Folder("1_x");
        DataTestFiles.Captioned(dir, "good.png", "ok");
        string bad = Path.Combine(dir, "x.png");
        File.WriteAllBytes(bad, "this is not a png at all, just text bytes"u8.ToArray());
        DataTestFiles.Caption(bad, "bad");

        var ex = Assert.Throws<KohyaException>(() => DatasetIndexer.Open(tmp.Path));

        Assert.Equal("ImageUndecodable", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidData, ex.Kind);
        Assert.Contains(bad, ex.Message);
        Assert.Equal(bad, ex.Target);
    }

    [Fact]
    public void EmptyImageFileIsImageUndecodable()
    {
        using var tmp = new TempDirectory();
        string bad = Path.Combine(tmp.Folder("1_x"), "empty.png");
        File.WriteAllBytes(bad, Array.Empty<byte>());
        var ex = Assert.Throws<KohyaException>(() => ImageLoader.ReadSize(bad));
        Assert.Equal("ImageUndecodable", ex.ErrorId);
    }

    [Fact]
    public void MissingTomlImageDirIsDatasetNotFound()
    {
        using var tmp = new TempDirectory();
        string toml = tmp.Combine("d.toml");
        File.WriteAllText(toml, "[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'gone'\nclass_tokens = 'x'\n");
        var ex = Assert.Throws<KohyaException>(() => DatasetIndexer.Open(toml));
        Assert.Equal("DatasetNotFound", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.ObjectNotFound, ex.Kind);
        Assert.Contains("gone", ex.Message);
    }

    [Fact]
    public void TruncatedImagePassesIndexingButFailsDecodingAsImageUndecodable()
    {
        using var tmp = new TempDirectory();
        string good = DataTestFiles.Png(tmp.Combine("full.png"), 16, 16);
        string cut = tmp.Combine("cut.png");
        byte[] bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);

        Assert.Equal((16, 16), ImageLoader.ReadSize(cut)); // the header is intact
        var ex = Assert.Throws<KohyaException>(() => ImageLoader.DecodeRgb(cut));
        Assert.Equal("ImageUndecodable", ex.ErrorId);
        Assert.Contains(cut, ex.Message);
    }

    [Fact]
    public void OpenRefusesAFileThatIsNotToml()
    {
        using var tmp = new TempDirectory();
        string json = tmp.Combine("dataset.json");
        File.WriteAllText(json, "{}");
        var ex = Assert.Throws<KohyaException>(() => DatasetIndexer.Open(json));
        Assert.Equal("UnsupportedDatasetOption", ex.ErrorId);
    }
}
