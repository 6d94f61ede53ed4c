using System.Security.Cryptography;
using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Datasets;
using KohyaPS.Tests.Data;
using static KohyaPS.Tests.Datasets.DatasetTestSupport;

namespace KohyaPS.Tests.Datasets;

public sealed class DatasetManifestBuilderTests
{
    [Fact]
    public void DemoDatasetManifestListsEveryImageWithItsHashSizeCaptionAndSubset()
    {
        using var tmp = new TempDirectory();
        string data = Demo(tmp, count: 8);
        var m = Manifest(data);

        Assert.Equal((KohyaDatasetManifest.FormatName, 1), (m.Format, m.FormatVersion));
        Assert.Equal(Path.GetFullPath(data), m.Source);
        Assert.Equal("DreamBoothFolder", m.SourceKind);
        var labels = DemoDatasetGenerator.ReadLabels(Path.Combine(data, DemoDatasetGenerator.LabelsFileName));
        Assert.Equal(labels.Select(l => l.RelativePath), m.Images.Select(i => i.Path));
        foreach (var (image, label) in m.Images.Zip(labels))
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(data, image.Path));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), image.Sha256);
            Assert.Equal(bytes.Length, image.Size);
            Assert.Equal((16, 16), (image.Width, image.Height));
            Assert.Equal(label.Caption, image.Caption);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(label.Caption))), image.CaptionSha256);
            Assert.Equal((0, 10, false, "16x16"), (image.Subset, image.Repeats, image.IsReg, image.Bucket));
        }
        var subset = Assert.Single(m.Subsets);
        Assert.Equal(("10_shapes", 10, "shapes", ".txt"), (subset.Directory, subset.NumRepeats, subset.ClassTokens, subset.CaptionExtension));
        Assert.Equal(0.1, subset.CaptionDropoutRate); // the hyperparameter set's default reaches the subset

        Assert.Equal((8, 0, 80L), (m.Summary.ImageCount, m.Summary.RegularizationImageCount, m.Summary.SamplesPerEpoch));
        Assert.Equal(m.Images.Sum(i => i.Size), m.Summary.TotalBytes);
        Assert.Equal(new Dictionary<string, long> { ["16x16"] = 80 }, m.Summary.Buckets);
        Assert.Equal(new[] { "10_shapes" }, m.Summary.TagFrequency.Keys);
        Assert.Equal(8, m.Summary.TagFrequency["10_shapes"].Values.Sum()); // demo captions have no commas: one tag each
        Assert.Matches("^[0-9a-f]{64}$", m.ManifestHash);
        Assert.Matches("^[0-9a-f]{64}$", m.ContentHash);
    }

    [Fact]
    public void TagFrequencyHasKohyasShapeAndRules()
    {
        using var tmp = new TempDirectory();
        DataTestFiles.Captioned(tmp.Folder("2_cats"), "a.png", "Cat, indoor ,, sitting");
        DataTestFiles.Captioned(tmp.Folder("2_cats"), "b.png", "cat,outdoor");
        DataTestFiles.Captioned(tmp.Folder("1_dogs"), "c.png", "dog, indoor");
        var m = Manifest(tmp.Path);

        // Per folder name, each caption counted once (repeats ignored), tags trimmed and lower-cased, empty ones dropped.
        Assert.Equal(new Dictionary<string, int> { ["cat"] = 2, ["indoor"] = 1, ["sitting"] = 1, ["outdoor"] = 1 }, m.Summary.TagFrequency["2_cats"]);
        Assert.Equal(new Dictionary<string, int> { ["dog"] = 1, ["indoor"] = 1 }, m.Summary.TagFrequency["1_dogs"]);
        Assert.Equal(5, m.Summary.SamplesPerEpoch);
    }

    [Fact]
    public void HashesDoNotDependOnListingOrderLocationOrTime()
    {
        using var tmp = new TempDirectory();
        string a = Demo(tmp, "a", count: 6);
        string b = Demo(tmp, "b", count: 6);
        var ma = Manifest(a);
        var mb = Manifest(b, parallelism: 1);
        Assert.NotEqual(ma.Source, mb.Source);
        Assert.Equal(ma.ManifestHash, mb.ManifestHash);
        Assert.Equal(ma.ContentHash, mb.ContentHash);

        var shuffled = ma.Images.Reverse().ToList();
        var again = DatasetManifestBuilder.Assemble("/elsewhere", ma.SourceKind, DateTime.UnixEpoch, ma.Preprocessing, ma.Subsets, shuffled);
        Assert.Equal(ma.ManifestHash, again.ManifestHash);
        Assert.Equal(ma.ContentHash, again.ContentHash);
    }

    [Fact]
    public void RenamingChangesTheManifestHashButNotTheContentHash()
    {
        using var tmp = new TempDirectory();
        string data = Demo(tmp, count: 4);
        var before = Manifest(data);
        Rename(Shapes(data), "0001", "renamed");
        var after = Manifest(data);
        Assert.NotEqual(before.ManifestHash, after.ManifestHash);
        Assert.Equal(before.ContentHash, after.ContentHash);

        File.WriteAllText(Path.Combine(Shapes(data), "renamed.txt"), "an edited caption");
        Assert.NotEqual(before.ContentHash, Manifest(data).ContentHash);
    }

    [Fact]
    public void ProgressIsReportedUpToEveryFileAndByte()
    {
        using var tmp = new TempDirectory();
        string data = Demo(tmp, count: 12);
        var reports = new List<KohyaDatasetProgress>();
        var progress = new Recorder(reports);
        var m = DatasetSources.Manifest(data, Hp(), progress, parallelism: 2);

        var last = reports[^1];
        Assert.True(last.Completed);
        Assert.Equal(DatasetManifestBuilder.HashingActivity, last.Activity);
        Assert.Equal((12, 12), (last.FilesDone, last.FilesTotal));
        Assert.Equal((m.Summary.TotalBytes, m.Summary.TotalBytes), (last.BytesDone, last.BytesTotal));
        Assert.Equal(100, last.PercentComplete);
        Assert.Single(reports, r => r.Completed);
    }

    [Fact]
    public void TomlDatasetRecordsItsSubsetSettingsAndBuckets()
    {
        using var tmp = new TempDirectory();
        DataTestFiles.Captioned(tmp.Folder("imgs"), "wide.png", "wide", width: 40, height: 16);
        DataTestFiles.Captioned(tmp.Folder("imgs"), "square.png", "square");
        DataTestFiles.Captioned(tmp.Folder("reg"), "r.png", "reg");
        File.WriteAllText(tmp.Combine("data.toml"), """
            [general]
            resolution = 16
            enable_bucket = true
            min_bucket_reso = 8
            max_bucket_reso = 32
            bucket_reso_steps = 8
            [[datasets]]
            batch_size = 2
              [[datasets.subsets]]
              image_dir = 'imgs'
              num_repeats = 3
              flip_aug = true
              shuffle_caption = true
              keep_tokens = 1
              caption_dropout_rate = 0.2
              [[datasets.subsets]]
              image_dir = 'reg'
              is_reg = true
            """);
        var m = Manifest(tmp.Combine("data.toml"));

        Assert.Equal("Toml", m.SourceKind);
        Assert.Equal((16, 16, 2, true, 8), (m.Preprocessing.Width, m.Preprocessing.Height, m.Preprocessing.BatchSize, m.Preprocessing.EnableBucket, m.Preprocessing.BucketResoSteps));
        Assert.Equal(new[] { "imgs", "reg" }, m.Subsets.Select(s => s.Directory));
        var imgs = m.Subsets[0];
        Assert.Equal((3, true, true, 1, 0.2), (imgs.NumRepeats, imgs.FlipAug, imgs.ShuffleCaption, imgs.KeepTokens, imgs.CaptionDropoutRate));
        Assert.True(m.Subsets[1].IsReg);
        Assert.Equal((1, 1), (m.Summary.RegularizationImageCount, m.Images.Count(i => i.IsReg)));
        Assert.Equal("24x8", m.Images.Single(i => i.Path == "imgs/wide.png").Bucket);
        Assert.Equal(new Dictionary<string, long> { ["16x16"] = 4, ["24x8"] = 3 }, m.Summary.Buckets);
    }

    private sealed class Recorder(List<KohyaDatasetProgress> reports) : IProgress<KohyaDatasetProgress>
    {
        public void Report(KohyaDatasetProgress value)
        {
            lock (reports)
                reports.Add(value);
        }
    }
}
