using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;
using static KohyaPS.Tests.Datasets.DatasetTestSupport;

namespace KohyaPS.Tests.Datasets;

public sealed class DistributionShiftTests
{
    private static Dictionary<string, double> D(params (string Key, double Weight)[] items) => items.ToDictionary(i => i.Key, i => i.Weight);

    [Fact]
    public void TotalVariationDistance()
    {
        Assert.Equal(0, DistributionShift.TotalVariation(D(("a", 1), ("b", 3)), D(("a", 2), ("b", 6)))); // scale does not matter
        Assert.Equal(1, DistributionShift.TotalVariation(D(("a", 1)), D(("b", 5))));
        Assert.Equal(0.5, DistributionShift.TotalVariation(D(("a", 1), ("b", 1)), D(("a", 1), ("c", 1))), 12);
        Assert.Equal(0.25, DistributionShift.TotalVariation(D(("a", 3), ("b", 1)), D(("a", 1), ("b", 1))), 12);
        Assert.Equal(0, DistributionShift.TotalVariation(D(), D()));
        Assert.Equal(1, DistributionShift.TotalVariation(D(), D(("a", 1))));
    }

    private static (int, int, string, int)[] Cats(int n, int repeats = 1) =>
        Enumerable.Repeat((16, 16, "cat, indoor", repeats), n).ToArray();

    [Theory]
    [InlineData(1, false)] // one new image per ten: TV = 1/11 ≈ 0.091, below 0.10
    [InlineData(2, true)]  // two per ten: TV = 2/12 ≈ 0.167, above
    public void TagShiftAgainstTheDefaultThreshold(int added, bool exceeded)
    {
        var reference = Synthetic(false, Cats(10));
        var difference = Synthetic(false, Cats(10).Concat(Enumerable.Repeat((16, 16, "dog, outdoor", 1), added)).ToArray());
        var c = DatasetManifestComparer.Compare(reference, difference);
        Assert.Equal(added / (10.0 + added), c.TagShift, 12);
        Assert.Equal(0, c.BucketShift);
        Assert.Equal(exceeded, c.TagShiftExceeded);
        Assert.Equal(exceeded, c.Changes.Any(x => x is { Change: KohyaDatasetChangeKind.DistributionShift, Name: "TagFrequency" }));
        Assert.Equal(DistributionShift.DefaultTagThreshold, c.TagShiftThreshold);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public void BucketShiftAgainstTheDefaultThreshold(int wide, bool exceeded)
    {
        var reference = Synthetic(true, Cats(10));
        var difference = Synthetic(true, Cats(10).Concat(Enumerable.Repeat((40, 16, "cat, indoor", 1), wide)).ToArray());
        Assert.Equal("24x8", difference.Images[^1].Bucket);
        var c = DatasetManifestComparer.Compare(reference, difference);
        Assert.Equal(wide / (10.0 + wide), c.BucketShift, 12);
        Assert.Equal(0, c.TagShift);
        Assert.Equal(exceeded, c.BucketShiftExceeded);
        Assert.Equal(exceeded, c.Changes.Any(x => x is { Change: KohyaDatasetChangeKind.DistributionShift, Name: "BucketHistogram" }));
    }

    [Fact]
    public void RepeatsWeighTheDistributions()
    {
        // One added image with 10 repeats weighs as much as the ten existing ones: half the mass moves.
        var reference = Synthetic(false, Cats(10));
        var difference = Synthetic(false, Cats(10).Append((16, 16, "dog, outdoor", 10)).ToArray());
        Assert.Equal(0.5, DatasetManifestComparer.Compare(reference, difference).TagShift, 12);
    }

    [Fact]
    public void ThresholdsCanBeChosen()
    {
        var reference = Synthetic(false, Cats(10));
        var difference = Synthetic(false, Cats(10).Append((16, 16, "dog, outdoor", 1)).ToArray());
        var strict = DatasetManifestComparer.Compare(reference, difference, tagThreshold: 0.05);
        Assert.True(strict.TagShiftExceeded);
        Assert.Contains("tag shift 0.091 (threshold 0.05)", strict.Summary);
        var lax = DatasetManifestComparer.Compare(reference, difference, tagThreshold: 0.5);
        Assert.False(lax.TagShiftExceeded);
        Assert.Equal("1 added", lax.Summary);
    }
}
