using KohyaPS.Engine.Data;
using TorchSharp;

namespace KohyaPS.Tests.Data;

public sealed class BatchBuilderTests
{
    private static (DatasetIndex Index, BucketAssignment Buckets) Dataset(TempDirectory tmp, SubsetSettings subset)
    {
        string dir = tmp.Folder("2_thing");
        for (int i = 0; i < 5; i++)
            DataTestFiles.Captioned(dir, $"sq{i}.png", $"thing, square, number {i}, tag", 20 + i, 20 + i);
        for (int i = 0; i < 3; i++)
            DataTestFiles.Captioned(dir, $"wide{i}.png", $"thing, wide, number {i}", 48, 16);
        var settings = new DatasetSettings
        {
            Width = 16, Height = 16, EnableBucket = true, MinBucketReso = 8, MaxBucketReso = 32, BucketResoSteps = 8, BatchSize = 3,
        };
        var index = DatasetIndexer.Build(DreamBoothFolderReader.Read(tmp.Path, new DreamBoothFolderOptions { Dataset = settings, Subset = subset }));
        return (index, BucketPlanner.Assign(index));
    }

    [Fact]
    public void BatchesHaveBucketShapeAndAreBitwiseRepeatable()
    {
        using var tmp = new TempDirectory();
        var subset = new SubsetSettings { FlipAug = true, ShuffleCaption = true, KeepTokens = 1 };
        var (index, buckets) = Dataset(tmp, subset);
        var plans = DataOrder.Epoch(index, buckets, 3, seed: 11, epoch: 0);
        Assert.Equal(2, buckets.Buckets.Count);

        foreach (var plan in plans)
        {
            using var a = BatchBuilder.Build(plan, index, buckets, seed: 11);
            using var b = BatchBuilder.Build(plan, index, buckets, seed: 11);
            Assert.Equal(new long[] { plan.Items.Count, 3, plan.Resolution.Height, plan.Resolution.Width }, a.Pixels.shape);
            Assert.True(DataTestFiles.BitEqual(a.Pixels, b.Pixels));
            Assert.Equal(a.Captions, b.Captions);
            Assert.Equal(plan.Items.Count, a.Captions.Count);
            Assert.All(a.Captions, c => Assert.StartsWith("thing, ", c, StringComparison.Ordinal));
            Assert.True(a.Pixels.min().item<float>() >= -1f && a.Pixels.max().item<float>() <= 1f);
        }
    }

    [Fact]
    public void FlippedSamplesAreMirrorImagesOfUnflippedOnes()
    {
        using var tmp = new TempDirectory();
        var (index, buckets) = Dataset(tmp, new SubsetSettings { FlipAug = true });
        var samples = DataOrder.Epoch(index, buckets, 1, seed: 3, epoch: 0)
            .Select(p => (Plan: p, Sample: BatchBuilder.Describe(p, index, 3)[0]))
            .ToList();
        Assert.Contains(samples, s => s.Sample.Flipped);
        Assert.Contains(samples, s => !s.Sample.Flipped);

        foreach (var (plan, sample) in samples.Take(6))
        {
            using var batch = BatchBuilder.Build(plan, index, buckets, seed: 3);
            var choice = buckets.ChoiceOf(sample.EntryIndex);
            var image = ImageLoader.DecodeRgb(index[sample.EntryIndex].AbsolutePath);
            float[] plain = ImageLoader.ResizeCrop(image, choice.ResizedWidth, choice.ResizedHeight,
                plan.Resolution.Width, plan.Resolution.Height, crop: null, flip: false);
            using var expected = torch.tensor(plain, new long[] { 3, plan.Resolution.Height, plan.Resolution.Width });
            using var target = sample.Flipped ? expected.flip(2) : expected.alias();
            Assert.True(DataTestFiles.BitEqual(batch.Pixels[0], target));
        }
    }

    [Fact]
    public void CaptionDropoutEmptiesCaptionsAndRegFlagIsCarried()
    {
        using var tmp = new TempDirectory();
        var (index, buckets) = Dataset(tmp, new SubsetSettings { CaptionDropoutRate = 1 });
        var plan = DataOrder.Epoch(index, buckets, 3, 1, 0)[0];
        var samples = BatchBuilder.Describe(plan, index, 1);
        Assert.All(samples, s => Assert.Equal("", s.Caption));
        Assert.All(samples, s => Assert.True(s.CaptionDropped));
        Assert.All(samples, s => Assert.False(s.IsReg));
    }
}
