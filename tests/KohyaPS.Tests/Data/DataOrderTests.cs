using System.Security.Cryptography;
using System.Text;
using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Data;

public sealed class DataOrderTests
{
    private static readonly DatasetSettings Tiny = new()
    {
        Width = 32, Height = 32, EnableBucket = true, MinBucketReso = 16, MaxBucketReso = 64, BucketResoSteps = 8,
    };

    /// <summary>13 images in three buckets, with repeats 1, 2 and 3.</summary>
    private static (DatasetIndex Index, BucketAssignment Buckets) Sample()
    {
        var images = new List<(string, int, int, int)>();
        for (int i = 0; i < 6; i++)
            images.Add(($"sq{i:D2}.png", 32, 32, 1 + i % 3));
        for (int i = 0; i < 4; i++)
            images.Add(($"wide{i:D2}.png", 64, 32, 2));
        for (int i = 0; i < 3; i++)
            images.Add(($"tall{i:D2}.png", 16, 64, 3));
        var index = DataTestFiles.MemoryIndex(Tiny, images.ToArray());
        return (index, BucketPlanner.Assign(index));
    }

    private static string Fingerprint(IReadOnlyList<BatchPlan> plans) =>
        string.Join(";", plans.Select(p => $"{p.BucketIndex}:{string.Join(",", p.Items)}"));

    [Fact]
    public void SameInputsGiveTheSameOrder()
    {
        var (index, buckets) = Sample();
        var a = DataOrder.Epoch(index, buckets, 4, seed: 1234, epoch: 3);
        var b = DataOrder.Epoch(index, buckets, 4, seed: 1234, epoch: 3);
        Assert.Equal(Fingerprint(a), Fingerprint(b));
        // A rebuilt index and assignment (as after a restart) give the same order too.
        var (index2, buckets2) = Sample();
        Assert.Equal(Fingerprint(a), Fingerprint(DataOrder.Epoch(index2, buckets2, 4, 1234, 3)));
    }

    [Fact]
    public void DifferentEpochOrSeedGivesADifferentOrder()
    {
        var (index, buckets) = Sample();
        string e0 = Fingerprint(DataOrder.Epoch(index, buckets, 2, 1, 0));
        Assert.NotEqual(e0, Fingerprint(DataOrder.Epoch(index, buckets, 2, 1, 1)));
        Assert.NotEqual(e0, Fingerprint(DataOrder.Epoch(index, buckets, 2, 2, 0)));
    }

    [Fact]
    public void OrderIsPinnedAcrossVersions()
    {
        // If this fails, data orders changed: every checkpoint's resume position would point elsewhere.
        // Update only with a deliberate format change.
        var (index, buckets) = Sample();
        string fp = Fingerprint(DataOrder.Epoch(index, buckets, 3, 42, 0));
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(fp)))[..16];
        Assert.Equal(PinnedOrderHash, hash);
    }

    internal const string PinnedOrderHash = "1F7F37E65B851561";

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(100)]
    public void EveryItemAppearsRepeatsTimesPerEpochInSingleBucketBatches(int batchSize)
    {
        var (index, buckets) = Sample();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var plans = DataOrder.Epoch(index, buckets, batchSize, 7, epoch);
            var counts = plans.SelectMany(p => p.Items).GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(index.Count, counts.Count);
            for (int i = 0; i < index.Count; i++)
                Assert.Equal(index[i].Repeats, counts[i]);

            for (int b = 0; b < plans.Count; b++)
            {
                var plan = plans[b];
                Assert.Equal(epoch, plan.Epoch);
                Assert.Equal(b, plan.BatchIndex);
                Assert.InRange(plan.Items.Count, 1, batchSize);
                Assert.All(plan.Items, item => Assert.Equal(plan.BucketIndex, buckets.BucketOf(item)));
                Assert.Equal(buckets.Buckets[plan.BucketIndex], plan.Resolution);
            }
            Assert.Equal(DataOrder.StepsPerEpoch(index, buckets, batchSize), plans.Count);
        }
    }

    [Fact]
    public void StepsPerEpochRoundsUpPerBucket()
    {
        var (index, buckets) = Sample();
        // square bucket: repeats 1,2,3,1,2,3 = 12 samples; wide: 4×2 = 8; tall: 3×3 = 9.
        Assert.Equal(3 + 2 + 3, DataOrder.StepsPerEpoch(index, buckets, 4));
        Assert.Equal(12 + 8 + 9, DataOrder.StepsPerEpoch(index, buckets, 1));
        Assert.Equal(3, DataOrder.StepsPerEpoch(index, buckets, 1000));
    }

    [Fact]
    public void OrderDependsOnRelativePathsNotOnCaptions()
    {
        var (index, buckets) = Sample();
        var recaptioned = new DatasetIndex(index.Definition,
            index.Entries.Select(e => e with { Caption = "changed", AbsolutePath = "/elsewhere/" + e.RelativePath }).ToList(),
            Array.Empty<string>());
        Assert.Equal(Fingerprint(DataOrder.Epoch(index, buckets, 2, 5, 0)),
            Fingerprint(DataOrder.Epoch(recaptioned, BucketPlanner.Assign(recaptioned), 2, 5, 0)));
    }
}
