using KohyaPS.Engine;
using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Data;

public sealed class DreamBoothFolderReaderTests
{
    [Theory]
    [InlineData("10_sks cat", 10, "sks cat")]
    [InlineData("3_a_b c", 3, "a_b c")]
    [InlineData("1_", 1, null)]
    [InlineData("5", 5, null)]
    public void ParsesKohyaFolderNames(string name, int repeats, string? tokens)
    {
        Assert.True(DreamBoothFolderReader.TryParseFolderName(name, out int r, out string? t));
        Assert.Equal(repeats, r);
        Assert.Equal(tokens, t);
    }

    [Theory]
    [InlineData("cat")]
    [InlineData("0_cat")]
    [InlineData("x10_cat")]
    [InlineData("_10_cat")]
    [InlineData("-1_cat")]
    [InlineData("99999999999_cat")]
    public void RejectsNamesWithoutRepeats(string name) =>
        Assert.False(DreamBoothFolderReader.TryParseFolderName(name, out _, out _));

    [Fact]
    public void ReadsSubfoldersWithSpacesAndSkipsBadNamesWithAWarning()
    {
        using var tmp = new TempDirectory();
        string cat = tmp.Folder("10_sks cat");
        string dog = tmp.Folder("2_dog");
        tmp.Folder("notes");
        DataTestFiles.Captioned(cat, "a.png", "sks cat sitting");
        DataTestFiles.Png(Path.Combine(dog, "b.png"), 16, 16);

        var def = DreamBoothFolderReader.Read(tmp.Path);

        Assert.Equal(DatasetSourceKind.DreamBoothFolder, def.SourceKind);
        Assert.Equal(2, def.Subsets.Count);
        Assert.Equal(cat, def.Subsets[0].ImageDirectory);
        Assert.Equal(10, def.Subsets[0].Settings.NumRepeats);
        Assert.Equal("sks cat", def.Subsets[0].Settings.ClassTokens);
        Assert.Equal(2, def.Subsets[1].Settings.NumRepeats);
        Assert.Equal("dog", def.Subsets[1].Settings.ClassTokens);
        var warning = Assert.Single(def.Warnings);
        Assert.Contains("notes", warning);

        var index = DatasetIndexer.Build(def);
        Assert.Equal(new[] { "10_sks cat/a.png", "2_dog/b.png" }, index.Entries.Select(e => e.RelativePath));
        Assert.Equal("sks cat sitting", index[0].Caption);
        Assert.Equal("dog", index[1].Caption); // no caption file: class tokens
        Assert.Equal(10, index[0].Repeats);
        Assert.Equal(10 + 2, index.SamplesPerEpoch);
    }

    [Fact]
    public void AcceptsThePathBeingOneRepeatsFolder()
    {
        using var tmp = new TempDirectory();
        string cat = tmp.Folder("4_sks cat");
        DataTestFiles.Png(Path.Combine(cat, "x.png"), 16, 16);

        var def = DreamBoothFolderReader.Read(cat);

        var subset = Assert.Single(def.Subsets);
        Assert.Equal(4, subset.Settings.NumRepeats);
        Assert.Equal("sks cat", subset.Settings.ClassTokens);
        var index = DatasetIndexer.Build(def);
        Assert.Equal("4_sks cat/x.png", index[0].RelativePath);
        Assert.Equal("sks cat", index[0].Caption);
    }

    [Fact]
    public void UsesTheConfiguredCaptionExtensionAndRegularisationFolder()
    {
        using var tmp = new TempDirectory();
        string train = tmp.Folder("train", "1_cat");
        string reg = tmp.Folder("reg", "1_cat");
        string img = DataTestFiles.Png(Path.Combine(train, "a.png"), 16, 16);
        DataTestFiles.Caption(img, "from caption file", ".caption");
        DataTestFiles.Caption(img, "from txt file", ".txt");
        DataTestFiles.Png(Path.Combine(reg, "r.png"), 16, 16);

        var options = new DreamBoothFolderOptions
        {
            Subset = new SubsetSettings { CaptionExtension = "caption" },
            RegularizationPath = tmp.Combine("reg"),
        };
        var index = DatasetIndexer.Build(DreamBoothFolderReader.Read(tmp.Combine("train"), options));

        Assert.Equal(2, index.Count);
        var a = index.Entries.Single(e => e.RelativePath.EndsWith("a.png", StringComparison.Ordinal));
        Assert.Equal("from caption file", a.Caption);
        Assert.False(a.IsReg);
        var r = index.Entries.Single(e => e.RelativePath.EndsWith("r.png", StringComparison.Ordinal));
        Assert.True(r.IsReg);
        Assert.Equal("../reg/1_cat/r.png", r.RelativePath);
    }

    [Fact]
    public void MissingFolderIsDatasetNotFound()
    {
        using var tmp = new TempDirectory();
        var ex = Assert.Throws<KohyaException>(() => DreamBoothFolderReader.Read(tmp.Combine("nope")));
        Assert.Equal("DatasetNotFound", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.ObjectNotFound, ex.Kind);
    }

    [Fact]
    public void FolderWithoutRepeatsSubfoldersIsDatasetEmpty()
    {
        using var tmp = new TempDirectory();
        tmp.Folder("cats");
        DataTestFiles.Png(tmp.Combine("loose.png"), 16, 16);
        var ex = Assert.Throws<KohyaException>(() => DreamBoothFolderReader.Read(tmp.Path));
        Assert.Equal("DatasetEmpty", ex.ErrorId);
        Assert.Contains("cats", ex.Message);
    }

    [Fact]
    public void SubfoldersWithoutImagesAreDatasetEmpty()
    {
        using var tmp = new TempDirectory();
        File.WriteAllText(Path.Combine(tmp.Folder("10_cat"), "readme.txt"), "no images here");
        var def = DreamBoothFolderReader.Read(tmp.Path);
        var ex = Assert.Throws<KohyaException>(() => DatasetIndexer.Build(def));
        Assert.Equal("DatasetEmpty", ex.ErrorId);
    }
}
