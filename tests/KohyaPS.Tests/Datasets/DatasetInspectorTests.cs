using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;
using KohyaPS.Tests.Data;
using static KohyaPS.Tests.Datasets.DatasetTestSupport;

namespace KohyaPS.Tests.Datasets;

public sealed class DatasetInspectorTests
{
    private static IReadOnlyList<KohyaDatasetFinding> Inspect(string path, KohyaHyperparameterSet? hp = null) =>
        DatasetInspector.Inspect(DatasetSources.Definition(path, hp ?? Hp()), parallelism: 2);

    [Fact]
    public void DemoDatasetIsClean()
    {
        using var tmp = new TempDirectory();
        Assert.Empty(Inspect(Demo(tmp, count: 6)));
    }

    [Fact]
    public void EveryProblemIsOneFindingWithItsId()
    {
        using var tmp = new TempDirectory();
        string imgs = tmp.Folder("imgs");
        string good = DataTestFiles.Captioned(imgs, "good.png", "a good picture");
        File.Copy(good, Path.Combine(imgs, "other.png"));
        File.WriteAllText(Path.Combine(imgs, "other.txt"), "the same picture");
        File.WriteAllBytes(Path.Combine(imgs, "zero.png"), Array.Empty<byte>());
        File.WriteAllText(Path.Combine(imgs, "zero.txt"), "nothing");
        File.WriteAllText(Path.Combine(imgs, "broken.png"), "this is not a PNG at all");
        File.WriteAllText(Path.Combine(imgs, "broken.txt"), "broken");
        byte[] whole = File.ReadAllBytes(DataTestFiles.Png(tmp.Combine("big.png"), 64, 64));
        File.WriteAllBytes(Path.Combine(imgs, "truncated.png"), whole[..(whole.Length / 2)]);
        File.WriteAllText(Path.Combine(imgs, "truncated.txt"), "half a picture");
        DataTestFiles.Png(Path.Combine(imgs, "nocaption.png"), 16, 16, tint: 3);
        DataTestFiles.Png(Path.Combine(imgs, "emptycaption.png"), 16, 16, tint: 4);
        File.WriteAllText(Path.Combine(imgs, "emptycaption.txt"), "");
        DataTestFiles.Captioned(imgs, "small.png", "tiny", width: 4, height: 4);
        File.WriteAllText(Path.Combine(imgs, "anim.gif"), "GIF89a");
        File.WriteAllText(Path.Combine(imgs, "notes.json"), "{}"); // not a picture: not reported
        File.WriteAllText(tmp.Combine("data.toml"), """
            [[datasets]]
            resolution = 16
              [[datasets.subsets]]
              image_dir = 'imgs'
              [[datasets.subsets]]
              image_dir = 'gone'
            """);

        var findings = Inspect(tmp.Combine("data.toml"));

        Assert.Equal(new[]
        {
            ("gone", "DatasetNotFound", KohyaFindingSeverity.Error),
            ("imgs/anim.gif", "UnsupportedImageFormat", KohyaFindingSeverity.Warning),
            ("imgs/broken.png", "ImageUndecodable", KohyaFindingSeverity.Error),
            ("imgs/emptycaption.png", "CaptionEmpty", KohyaFindingSeverity.Warning),
            ("imgs/nocaption.png", "CaptionMissing", KohyaFindingSeverity.Error),
            ("imgs/other.png", "DuplicateImage", KohyaFindingSeverity.Warning),
            ("imgs/small.png", "ImageBelowSmallestBucket", KohyaFindingSeverity.Warning),
            ("imgs/truncated.png", "ImageUndecodable", KohyaFindingSeverity.Error),
            ("imgs/zero.png", "ZeroByteFile", KohyaFindingSeverity.Error),
        }, findings.Select(f => (f.Path, f.ErrorId, f.Severity)));
        Assert.Equal("imgs/good.png", findings.Single(f => f.ErrorId == "DuplicateImage").RelatedPath);
        Assert.Equal("imgs/emptycaption.txt", findings.Single(f => f.ErrorId == "CaptionEmpty").RelatedPath);
        Assert.All(findings, f => Assert.False(string.IsNullOrWhiteSpace(f.Message)));
    }

    [Fact]
    public void BucketLimitsDecideWhatIsTooSmall()
    {
        using var tmp = new TempDirectory();
        string dir = tmp.Folder("1_items");
        DataTestFiles.Captioned(dir, "ok.png", "ok", width: 16, height: 16);
        DataTestFiles.Captioned(dir, "narrow.png", "narrow", width: 8, height: 24);
        DataTestFiles.Captioned(dir, "speck.png", "speck", width: 4, height: 12);

        var buckets = Inspect(tmp.Path, Hp(h =>
        {
            h.Data.EnableBucket = true;
            h.Data.MinBucketReso = 16;
            h.Data.MaxBucketReso = 32;
        }));
        Assert.Equal(new[] { ("1_items/narrow.png", "ImageBelowSmallestBucket"), ("1_items/speck.png", "ImageBelowSmallestBucket") },
            buckets.Select(f => (f.Path, f.ErrorId)));

        var noUpscale = Inspect(tmp.Path, Hp(h =>
        {
            h.Data.EnableBucket = true;
            h.Data.BucketNoUpscale = true;
        }));
        var speck = Assert.Single(noUpscale);
        Assert.Equal(("1_items/speck.png", "ImageTooSmall", KohyaFindingSeverity.Error), (speck.Path, speck.ErrorId, speck.Severity));
    }
}
