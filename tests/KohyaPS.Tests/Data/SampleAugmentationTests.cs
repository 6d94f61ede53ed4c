using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Data;

public sealed class SampleAugmentationTests
{
    private static readonly SubsetSettings All = new() { FlipAug = true, ShuffleCaption = true, KeepTokens = 2, CaptionDropoutRate = 0.2 };
    private const string Tags = "sks cat, photo, red, blue, green, tree, sky, grass";

    [Fact]
    public void DecisionsAreAPureFunctionOfSeedEpochBatchAndPosition()
    {
        for (int p = 0; p < 20; p++)
        {
            var a = SampleAugmentation.For(All, 42, 1, 7, p);
            var b = SampleAugmentation.For(All, 42, 1, 7, p);
            Assert.Equal(a, b);
            Assert.Equal(a.ApplyToCaption(Tags, All), b.ApplyToCaption(Tags, All));
        }
        var decisions = Enumerable.Range(0, 50).Select(p => SampleAugmentation.For(All, 42, 1, 7, p)).ToList();
        var otherEpoch = Enumerable.Range(0, 50).Select(p => SampleAugmentation.For(All, 42, 2, 7, p)).ToList();
        Assert.NotEqual(decisions, otherEpoch);
    }

    [Fact]
    public void FlipHappensAboutHalfTheTimeAndNeverWhenOff()
    {
        int flips = Enumerable.Range(0, 2000).Count(p => SampleAugmentation.For(All, 1, 0, p / 8, p % 8).Flip);
        Assert.InRange(flips, 900, 1100);
        var off = All with { FlipAug = false };
        Assert.DoesNotContain(Enumerable.Range(0, 200), p => SampleAugmentation.For(off, 1, 0, 0, p).Flip);
    }

    [Fact]
    public void CaptionDropoutFollowsTheRate()
    {
        int drops = Enumerable.Range(0, 2000).Count(p => SampleAugmentation.For(All, 9, 0, p, 0).DropCaption);
        Assert.InRange(drops, 320, 480);
        var dropped = Enumerable.Range(0, 2000).Select(p => SampleAugmentation.For(All, 9, 0, p, 0)).First(a => a.DropCaption);
        Assert.Equal("", dropped.ApplyToCaption(Tags, All));
        Assert.All(Enumerable.Range(0, 100), p =>
            Assert.True(SampleAugmentation.For(All with { CaptionDropoutRate = 1 }, 9, 0, p, 0).DropCaption));
    }

    [Fact]
    public void ShuffleKeepsTheFirstKeepTokensInPlace()
    {
        var noDrop = All with { CaptionDropoutRate = 0 };
        var seen = new HashSet<string>();
        for (int p = 0; p < 50; p++)
        {
            string caption = SampleAugmentation.For(noDrop, 3, 0, 0, p).ApplyToCaption(Tags, noDrop);
            var tags = caption.Split(", ");
            Assert.Equal("sks cat", tags[0]);
            Assert.Equal("photo", tags[1]);
            Assert.Equal(Tags.Split(", ").Order(), tags.Order());
            seen.Add(caption);
        }
        Assert.True(seen.Count > 10, "the free tags should be shuffled");
    }

    [Fact]
    public void ShuffleTrimsTagsAndLeavesCaptionsAloneWhenOff()
    {
        var random = new DeterministicRandom(1);
        Assert.Equal("a, b", SampleAugmentation.ShuffleTags("  a ,b  ", 5, random));
        var off = new SubsetSettings { KeepTokens = 1 };
        Assert.Equal(" x ,y ", SampleAugmentation.For(off, 1, 0, 0, 0).ApplyToCaption(" x ,y ", off));
    }
}
