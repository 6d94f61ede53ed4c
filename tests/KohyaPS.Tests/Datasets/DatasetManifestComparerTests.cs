using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Datasets;
using KohyaPS.Tests.Data;
using static KohyaPS.Tests.Datasets.DatasetTestSupport;

namespace KohyaPS.Tests.Datasets;

/// <summary>Change detection on real demo images: each kind of edit is made on disk and found in the manifests.</summary>
public sealed class DatasetManifestComparerTests : IDisposable
{
    private readonly TempDirectory _tmp = new();
    private readonly string _data;
    private readonly string _shapes;
    private readonly KohyaDatasetManifest _before;

    public DatasetManifestComparerTests()
    {
        _data = Demo(_tmp, count: 10);
        _shapes = Shapes(_data);
        _before = Manifest(_data);
    }

    public void Dispose() => _tmp.Dispose();

    private KohyaDatasetComparison CompareNow(KohyaHyperparameterSet? hp = null) => DatasetManifestComparer.Compare(_before, Manifest(_data, hp));

    private static (KohyaDatasetChangeKind, string, string?)[] Kinds(KohyaDatasetComparison c) =>
        c.Changes.Select(x => (x.Change, x.Name, x.PreviousName)).ToArray();

    [Fact]
    public void SameDataIsIdentical()
    {
        var c = CompareNow();
        Assert.True(c.IsIdentical);
        Assert.False(c.IsPureRename);
        Assert.Equal("identical", c.Summary);
        Assert.Equal((0.0, 0.0), (c.TagShift, c.BucketShift));
        Assert.Equal(c.ReferenceHash, c.DifferenceHash);
    }

    [Fact]
    public void AddedImageIsFound()
    {
        var extra = DemoDatasetGenerator.Generate(_tmp.Combine("other"), count: 1, seed: 99, size: 16).Images[0];
        File.Copy(Path.Combine(_tmp.Combine("other"), extra.RelativePath), Path.Combine(_shapes, "new.png"));
        File.WriteAllText(Path.Combine(_shapes, "new.txt"), extra.Caption);
        var c = CompareNow();
        var change = Assert.Single(c.Changes, x => x.Change != KohyaDatasetChangeKind.DistributionShift);
        Assert.Equal((KohyaDatasetChangeKind.Added, "10_shapes/new.png"), (change.Change, change.Name));
        Assert.Null(change.Reference);
        Assert.Equal(1, c.Added);
        Assert.StartsWith("1 added", c.Summary);
    }

    [Fact]
    public void RemovedImageIsFound()
    {
        File.Delete(Path.Combine(_shapes, "0004.png"));
        var c = CompareNow();
        Assert.Equal(new[] { (KohyaDatasetChangeKind.Removed, "10_shapes/0004.png", (string?)null) }, Kinds(c).Where(k => k.Item1 != KohyaDatasetChangeKind.DistributionShift));
        Assert.Equal(_before.Images.Single(i => i.Path == "10_shapes/0004.png").Sha256, c.Changes[0].Reference);
    }

    [Fact]
    public void ModifiedImageIsFound()
    {
        DataTestFiles.SolidPng(Path.Combine(_shapes, "0003.png"), 16, 16, (1, 2, 3));
        var c = CompareNow();
        var change = Assert.Single(c.Changes);
        Assert.Equal((KohyaDatasetChangeKind.Modified, "10_shapes/0003.png"), (change.Change, change.Name));
        Assert.NotEqual(change.Reference, change.Difference);
        Assert.Equal("1 modified", c.Summary);
    }

    [Fact]
    public void CaptionChangeIsFoundWithBothCaptions()
    {
        string old = File.ReadAllText(Path.Combine(_shapes, "0005.txt")).Trim();
        File.WriteAllText(Path.Combine(_shapes, "0005.txt"), "a different caption");
        var c = CompareNow();
        var change = Assert.Single(c.Changes);
        Assert.Equal((KohyaDatasetChangeKind.CaptionChanged, "10_shapes/0005.png", old, "a different caption"),
            (change.Change, change.Name, change.Reference, change.Difference));
        Assert.Equal(1, c.CaptionChanged);
    }

    [Fact]
    public void RenameIsFoundAsRenamedNotAsAddAndRemove()
    {
        Rename(_shapes, "0001", "zz-first");
        Rename(_shapes, "0007", "aa-seventh");
        var c = CompareNow();
        Assert.Equal(new[]
        {
            (KohyaDatasetChangeKind.Renamed, "10_shapes/aa-seventh.png", (string?)"10_shapes/0007.png"),
            (KohyaDatasetChangeKind.Renamed, "10_shapes/zz-first.png", (string?)"10_shapes/0001.png"),
        }, Kinds(c));
        Assert.True(c.IsPureRename);
        Assert.Equal("2 renamed", c.Summary);
    }

    [Fact]
    public void RenameWithANewCaptionIsBoth()
    {
        Rename(_shapes, "0002", "moved");
        File.WriteAllText(Path.Combine(_shapes, "moved.txt"), "new words");
        var c = CompareNow();
        Assert.Equal(new[]
        {
            (KohyaDatasetChangeKind.Renamed, "10_shapes/moved.png", (string?)"10_shapes/0002.png"),
            (KohyaDatasetChangeKind.CaptionChanged, "10_shapes/moved.png", (string?)null),
        }, Kinds(c));
        Assert.False(c.IsPureRename);
    }

    [Fact]
    public void MovingToAFolderWithOtherRepeatsIsRenamePlusPreprocessing()
    {
        Directory.Move(_shapes, Path.Combine(_data, "5_shapes"));
        var c = CompareNow();
        Assert.Equal(10, c.Renamed);
        var setting = Assert.Single(c.Changes, x => x.Change == KohyaDatasetChangeKind.PreprocessingChanged);
        Assert.Equal(("Subset[5_shapes].NumRepeats", "10", "5"), (setting.Name, setting.Reference, setting.Difference));
        Assert.Same(setting, c.Changes[0]); // settings are listed before images
        Assert.False(c.IsPureRename);
    }

    [Fact]
    public void PreprocessingChangesAreNamed()
    {
        var c = CompareNow(Hp(h =>
        {
            h.Data.FlipAug = true;
            h.Data.BatchSize = 2;
        }));
        Assert.Equal(new[]
        {
            (KohyaDatasetChangeKind.PreprocessingChanged, "BatchSize", (string?)"4", (string?)"2"),
            (KohyaDatasetChangeKind.PreprocessingChanged, "Subset[10_shapes].FlipAug", "false", "true"),
        }, c.Changes.Select(x => (x.Change, x.Name, x.Reference, x.Difference)));
        Assert.Equal(2, c.PreprocessingChanged);
    }

    [Fact]
    public void ResolutionChangeMovesEveryImageToAnotherBucket()
    {
        var c = CompareNow(Hp(h => h.Data.Resolution = 24));
        Assert.Contains(c.Changes, x => x is { Change: KohyaDatasetChangeKind.PreprocessingChanged, Name: "Width", Reference: "16", Difference: "24" });
        Assert.Equal(1.0, c.BucketShift, 9); // 16x16 -> 24x24: disjoint histograms
        Assert.True(c.BucketShiftExceeded);
        var shift = Assert.Single(c.Changes, x => x.Change == KohyaDatasetChangeKind.DistributionShift);
        Assert.Equal(("BucketHistogram", "0.1", "1"), (shift.Name, shift.Reference, shift.Difference));
        Assert.Contains("bucket shift 1 (threshold 0.1)", c.Summary);
    }
}
