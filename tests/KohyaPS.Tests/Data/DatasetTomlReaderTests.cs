using KohyaPS.Engine;
using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Data;

public sealed class DatasetTomlReaderTests
{
    private static KohyaException Fails(string toml) =>
        Assert.Throws<KohyaException>(() => DatasetTomlReader.Parse(toml, "/base", "test.toml"));

    [Fact]
    public void ValuesAreInheritedDownward()
    {
        const string toml = """
            [general]
            shuffle_caption = true
            caption_extension = '.txt'
            keep_tokens = 1
            flip_aug = true

            [[datasets]]
            resolution = 32
            batch_size = 4
            enable_bucket = true
            min_bucket_reso = 16
            max_bucket_reso = 64
            bucket_reso_steps = 8
            keep_tokens = 2

              [[datasets.subsets]]
              image_dir = 'cats'
              class_tokens = 'sks cat'

              [[datasets.subsets]]
              image_dir = '/abs/dogs'
              num_repeats = 3
              keep_tokens = 3
              flip_aug = false
              caption_dropout_rate = 0.25

              [[datasets.subsets]]
              image_dir = 'reg'
              is_reg = true
              caption_dropout_rate = 1
            """;
        var def = DatasetTomlReader.Parse(toml, "/base", "test.toml");

        Assert.Equal(DatasetSourceKind.Toml, def.SourceKind);
        Assert.Equal(new DatasetSettings
        {
            Width = 32, Height = 32, BatchSize = 4, EnableBucket = true, MinBucketReso = 16, MaxBucketReso = 64, BucketResoSteps = 8,
        }, def.Settings);
        Assert.Equal(3, def.Subsets.Count);

        var cats = def.Subsets[0];
        Assert.Equal(Path.GetFullPath("/base/cats"), cats.ImageDirectory);
        Assert.Equal(new SubsetSettings
        {
            ShuffleCaption = true, CaptionExtension = ".txt", KeepTokens = 2, FlipAug = true, ClassTokens = "sks cat",
        }, cats.Settings);

        var dogs = def.Subsets[1];
        Assert.Equal(Path.GetFullPath("/abs/dogs"), dogs.ImageDirectory);
        Assert.Equal(3, dogs.Settings.NumRepeats);
        Assert.Equal(3, dogs.Settings.KeepTokens);
        Assert.False(dogs.Settings.FlipAug);
        Assert.Equal(0.25, dogs.Settings.CaptionDropoutRate);
        Assert.True(dogs.Settings.ShuffleCaption);

        Assert.True(def.Subsets[2].Settings.IsReg);
        Assert.Equal(1.0, def.Subsets[2].Settings.CaptionDropoutRate);
        Assert.False(def.Subsets[0].Settings.IsReg);
    }

    [Fact]
    public void ResolutionMayBeWidthAndHeight()
    {
        var def = DatasetTomlReader.Parse("[general]\nresolution = [48, 32]\n[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\n", "/b");
        Assert.Equal(48, def.Settings.Width);
        Assert.Equal(32, def.Settings.Height);
    }

    [Fact]
    public void ReadsFromFileAndResolvesImageDirAgainstTheTomlFolder()
    {
        using var tmp = new TempDirectory();
        string sub = tmp.Folder("conf");
        DataTestFiles.Captioned(tmp.Folder("imgs"), "a.png", "hello");
        string toml = Path.Combine(sub, "ds.toml");
        File.WriteAllText(toml, "[[datasets]]\nresolution = 16\n[[datasets.subsets]]\nimage_dir = '../imgs'\nnum_repeats = 2\n");

        var index = DatasetIndexer.Open(toml);

        Assert.Equal(tmp.Combine("imgs"), index.Definition.Subsets[0].ImageDirectory);
        Assert.Equal(sub, index.Definition.RootDirectory);
        Assert.Equal("../imgs/a.png", index[0].RelativePath);
        Assert.Equal(2, index[0].Repeats);
        Assert.Equal("hello", index[0].Caption);
    }

    [Theory]
    [InlineData("[general]\nflip_augg = true\n[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\n", "flip_augg", "general")]
    [InlineData("[[datasets]]\nreso = 512\n[[datasets.subsets]]\nimage_dir = 'x'\n", "reso", "datasets[0]")]
    [InlineData("[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\nbatch_size = 2\n", "batch_size", "datasets[0].subsets[0]")]
    [InlineData("[general]\nimage_dir = 'x'\n[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\n", "image_dir", "general")]
    [InlineData("[other]\na = 1\n", "other", "top level")]
    public void UnknownKeysAreErrorsNamingKeyAndSection(string toml, string key, string section)
    {
        var ex = Fails(toml);
        Assert.Equal("UnknownDatasetKey", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains($"'{key}'", ex.Message);
        Assert.Contains($"[{section}]", ex.Message);
        Assert.Equal(key, ex.Target);
    }

    [Theory]
    [InlineData("[general]\nresolution = '512'\n", "resolution")]
    [InlineData("[general]\nresolution = [512]\n", "resolution")]
    [InlineData("[general]\nbatch_size = 2.5\n", "batch_size")]
    [InlineData("[general]\nbatch_size = 0\n", "batch_size")]
    [InlineData("[general]\nflip_aug = 'yes'\n", "flip_aug")]
    [InlineData("[general]\nnum_repeats = -1\n", "num_repeats")]
    [InlineData("[general]\ncaption_dropout_rate = 1.5\n", "caption_dropout_rate")]
    [InlineData("[general]\nclass_tokens = 3\n", "class_tokens")]
    [InlineData("[general]\nenable_bucket = true\nbucket_reso_steps = 64\nmin_bucket_reso = 100\n", "min_bucket_reso")]
    public void WrongTypesAndRangesAreInvalidDatasetValue(string general, string key)
    {
        var ex = Fails(general + "[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\n");
        Assert.Equal("InvalidDatasetValue", ex.ErrorId);
        Assert.Contains($"'{key}'", ex.Message);
        Assert.Equal(key, ex.Target);
    }

    [Fact]
    public void MissingImageDirIsInvalidDatasetValue()
    {
        var ex = Fails("[[datasets]]\n[[datasets.subsets]]\nnum_repeats = 2\n");
        Assert.Equal("InvalidDatasetValue", ex.ErrorId);
        Assert.Contains("image_dir", ex.Message);
    }

    [Fact]
    public void ColorAugIsRejectedAsUnsupported()
    {
        var ex = Fails("[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\ncolor_aug = true\n");
        Assert.Equal("UnsupportedDatasetOption", ex.ErrorId);
        Assert.Contains("color_aug", ex.Message);
        // false is fine
        DatasetTomlReader.Parse("[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\ncolor_aug = false\n", "/b");
    }

    [Fact]
    public void UnimplementedKohyaKeysAreAcceptedOnlyAtTheirDefault()
    {
        DatasetTomlReader.Parse("[general]\ncaption_prefix = ''\ntoken_warmup_min = 1\n[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\n", "/b");
        var ex = Fails("[general]\ncaption_prefix = 'masterpiece, '\n[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\n");
        Assert.Equal("UnsupportedDatasetOption", ex.ErrorId);
        Assert.Contains("caption_prefix", ex.Message);
    }

    [Fact]
    public void DatasetsWithEqualSettingsMergeAndDifferentOnesAreRefused()
    {
        var merged = DatasetTomlReader.Parse(
            "[general]\nresolution = 32\n[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'a'\n[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'b'\n", "/b");
        Assert.Equal(2, merged.Subsets.Count);

        var ex = Fails("[[datasets]]\nresolution = 32\n[[datasets.subsets]]\nimage_dir = 'a'\n[[datasets]]\nresolution = 64\n[[datasets.subsets]]\nimage_dir = 'b'\n");
        Assert.Equal("UnsupportedDatasetOption", ex.ErrorId);
    }

    [Fact]
    public void SyntaxErrorsAndMissingFilesHaveTheirOwnIds()
    {
        Assert.Equal("DatasetConfigSyntax", Fails("[general\nx = ").ErrorId);
        Assert.Equal("DatasetEmpty", Fails("[general]\nbatch_size = 1\n").ErrorId);
        using var tmp = new TempDirectory();
        var ex = Assert.Throws<KohyaException>(() => DatasetTomlReader.Read(tmp.Combine("missing.toml")));
        Assert.Equal("DatasetNotFound", ex.ErrorId);
    }
}
