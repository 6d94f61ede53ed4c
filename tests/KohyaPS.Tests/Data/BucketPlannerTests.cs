using KohyaPS.Engine;
using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Data;

public sealed class BucketPlannerTests
{
    private static readonly DatasetSettings Tiny = new()
    {
        Width = 32, Height = 32, EnableBucket = true, MinBucketReso = 16, MaxBucketReso = 64, BucketResoSteps = 8,
    };

    private static BucketResolution B(int w, int h) => new(w, h);

    [Fact]
    public void PlanFollowsKohyaConstruction()
    {
        // max area 32² = 1024, step 8, sides 16..64 — computed by hand from kohya's make_bucket_resolutions.
        var expected = new[] { B(16, 48), B(16, 56), B(16, 64), B(24, 40), B(32, 32), B(40, 24), B(48, 16), B(56, 16), B(64, 16) };
        Assert.Equal(expected, BucketPlanner.Plan(Tiny));
    }

    [Fact]
    public void KohyaDefaultsGiveTheFamiliarSd15Buckets()
    {
        var plan = BucketPlanner.Plan(new DatasetSettings { EnableBucket = true });
        Assert.Contains(B(512, 512), plan);
        Assert.Contains(B(384, 640), plan);
        Assert.Contains(B(640, 384), plan);
        Assert.Contains(B(256, 1024), plan);
        Assert.All(plan, b => Assert.True(b.Width * b.Height <= 512 * 512 && b.Width % 64 == 0 && b.Height % 64 == 0));
    }

    [Theory]
    [InlineData(32, 32, 32, 32, 32, 32)]   // square
    [InlineData(64, 32, 40, 24, 48, 24)]   // 2:1 → nearest ratio 40:24 (1.67), scaled by height to 48×24
    [InlineData(16, 64, 16, 64, 16, 64)]   // exactly a bucket: kept as is
    [InlineData(100, 20, 64, 16, 80, 16)]  // 5:1 → widest bucket 64:16
    [InlineData(20, 30, 24, 40, 27, 40)]   // 2:3 → 24:40 (0.6); wider than the bucket, so scaled by height
    public void AssignsNearestAspectRatioAndCoverSize(int w, int h, int bw, int bh, int rw, int rh)
    {
        var choice = BucketPlanner.Select(w, h, Tiny, BucketPlanner.Plan(Tiny));
        Assert.Equal(B(bw, bh), choice.Bucket);
        Assert.Equal((rw, rh), (choice.ResizedWidth, choice.ResizedHeight));
    }

    [Theory]
    [InlineData(20, 12, 16, 8, 20, 12)]     // small: never upscaled, bucket rounded down to the step
    [InlineData(64, 64, 32, 32, 32, 32)]    // too large: scaled to the max area
    [InlineData(100, 50, 32, 16, 32, 16)]   // too large, 2:1: height rounding keeps the ratio best
    [InlineData(33, 31, 32, 24, 33, 31)]    // ≤ max area: bucket = size rounded down
    public void NoUpscaleNeverEnlarges(int w, int h, int bw, int bh, int rw, int rh)
    {
        var settings = Tiny with { BucketNoUpscale = true };
        var choice = BucketPlanner.Select(w, h, settings, BucketPlanner.Plan(settings));
        Assert.Equal(B(bw, bh), choice.Bucket);
        Assert.Equal((rw, rh), (choice.ResizedWidth, choice.ResizedHeight));
        Assert.True(choice.ResizedWidth <= w && choice.ResizedHeight <= h);
    }

    [Fact]
    public void WithoutBucketingEverythingGoesToTheResolution()
    {
        var settings = new DatasetSettings { Width = 32, Height = 24 };
        var index = DataTestFiles.MemoryIndex(settings, ("a", 64, 32, 1), ("b", 10, 40, 1), ("c", 32, 24, 1));
        var assignment = BucketPlanner.Assign(index);
        Assert.Equal(new[] { B(32, 24) }, assignment.Buckets);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(0, assignment.BucketOf(i)));
        Assert.Equal(new BucketChoice(B(32, 24), 48, 24), assignment.ChoiceOf(0)); // a: cover by height
        Assert.Equal(new BucketChoice(B(32, 24), 32, 128), assignment.ChoiceOf(1)); // b: cover by width
    }

    [Fact]
    public void AssignmentNumbersBucketsInResolutionOrder()
    {
        var index = DataTestFiles.MemoryIndex(Tiny, ("a", 64, 32, 1), ("b", 32, 32, 1), ("c", 16, 64, 1), ("d", 60, 30, 1));
        var assignment = BucketPlanner.Assign(index);
        Assert.Equal(new[] { B(16, 64), B(32, 32), B(40, 24) }, assignment.Buckets);
        Assert.Equal(new[] { 2, 1, 0, 2 }, Enumerable.Range(0, 4).Select(assignment.BucketOf));
        Assert.Equal(new[] { 0, 3 }, assignment.EntriesByBucket[2]);
    }

    [Fact]
    public void ImageSmallerThanAStepWithNoUpscaleIsRefused()
    {
        var index = DataTestFiles.MemoryIndex(Tiny with { BucketNoUpscale = true }, ("tiny", 6, 30, 1));
        var ex = Assert.Throws<KohyaException>(() => BucketPlanner.Assign(index));
        Assert.Equal("ImageTooSmall", ex.ErrorId);
    }
}
