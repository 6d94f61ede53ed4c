using System.Diagnostics;
using KohyaPS.Engine.Caching;
using KohyaPS.Engine.Data;
using KohyaPS.Tests.Data;
using KohyaPS.Tests.Models;
using TorchSharp;
using Xunit.Abstractions;

namespace KohyaPS.Tests.Caching;

[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class LatentCacheTests
{
    private readonly ITestOutputHelper _output;

    public LatentCacheTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void SamplePixelsAreBitwiseTheRowsOfTheTrainingBatch()
    {
        using var fx = new LatentCacheFixture();
        var (index, buckets) = fx.Dataset(flipAug: true);
        var plans = DataOrder.Epoch(index, buckets, 2, seed: 5, epoch: 0);
        bool sawFlip = false;
        foreach (var plan in plans)
        {
            using var batch = BatchBuilder.Build(plan, index, buckets, seed: 5);
            for (int i = 0; i < batch.Samples.Count; i++)
            {
                var sample = batch.Samples[i];
                sawFlip |= sample.Flipped;
                using var row = batch.Pixels.narrow(0, i, 1);
                using var alone = BatchBuilder.SamplePixels(index, buckets, sample.EntryIndex, sample.Flipped);
                Assert.True(DataTestFiles.BitEqual(row, alone), $"entry {sample.EntryIndex}, flipped {sample.Flipped}");
            }
        }
        Assert.True(sawFlip);
    }

    [Fact]
    public void CachedDistributionsAreBitwiseAFreshEncodeInBothOrientations()
    {
        using var fx = new LatentCacheFixture();
        var cache = fx.Open(flipAug: true);
        var fill = cache.Fill();
        Assert.Equal(2 * 6, fill.Total);
        Assert.Equal(fill.Total, fill.Encoded);
        Assert.Equal(fill.Total, fx.EntryFiles().Count);

        var reopened = fx.Open(flipAug: true);
        var (index, buckets) = fx.Dataset(flipAug: true);
        foreach (var (entry, flipped) in reopened.Samples())
        {
            using var cached = reopened.GetOrEncode(entry, flipped);
            using var fresh = fx.FreshEncode(index, buckets, entry, flipped);
            Assert.Equal(new long[] { 1, 4, 8, 8 }, cached.Mean.shape);
            Assert.Equal(torch.ScalarType.Float32, cached.LogVar.dtype);
            Assert.True(LatentCacheFixture.BitEqual(cached, fresh), $"entry {entry}, flipped {flipped}");
        }
        // The flipped latents are a different sample, not the unflipped one again.
        using var a = reopened.GetOrEncode(0, false);
        using var b = reopened.GetOrEncode(0, true);
        Assert.False(DataTestFiles.BitEqual(a.Mean, b.Mean));
        Assert.Equal(new LatentCacheStatistics(Hits: 14, Misses: 0, Rewritten: 0, Written: 0), reopened.Statistics);
    }

    [Fact]
    public void SecondFillIsAllHitsAndWritesNothing()
    {
        using var fx = new LatentCacheFixture();
        var first = fx.Open().Fill();
        Assert.Equal((6, 0, 6), (first.Total, first.Hits, first.Encoded));
        var before = fx.EntryFiles();
        Thread.Sleep(20); // a rewrite would show as a later modification time

        var progress = new List<LatentCacheProgress>();
        var cache = fx.Open();
        var second = cache.Fill(new SynchronousProgress<LatentCacheProgress>(progress.Add));
        Assert.Equal((6, 6, 0, 0), (second.Total, second.Hits, second.Encoded, second.Rewritten));
        Assert.Equal(0, cache.Statistics.Written);
        Assert.Equal(before, fx.EntryFiles());
        Assert.Equal(Enumerable.Range(0, 7), progress.Select(p => p.Done));
        Assert.All(progress, p => Assert.Equal((6, 0), (p.Total, p.Encoded)));
    }

    [Fact]
    public void EntryFileIsNamedByItsKeyAndRecordsTheKeysComponents()
    {
        using var fx = new LatentCacheFixture();
        var cache = fx.Open();
        using (cache.GetOrEncode(2, false)) { }
        var key = cache.KeyOf(2, false);
        string path = Path.Combine(fx.CacheDir, key.Value[..2], key.Value + ".safetensors");
        Assert.Equal(new[] { path }, fx.EntryFiles().Keys);
        using var file = Engine.Checkpoints.Safetensors.SafetensorsFile.Open(path);
        Assert.Equal(key.Value, file.Metadata[LatentCacheKey.KeyMetadata]);
        Assert.Equal(Engine.Datasets.FileHashing.Hash(fx.ImagePath(2)).Sha256, key.ImageSha256);
        Assert.Equal(cache.VaeSha256, file.Metadata["kohyaps.latent_cache.vae_sha256"]);
        Assert.Equal("16x16", file.Metadata["kohyaps.latent_cache.bucket"]);
        Assert.Equal(file.ComputeDataSha256(), file.Metadata["sshs_model_hash"]);
        Assert.Equal(new[] { "logvar", "mean" }, file.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ChangedImageMissesUnderANewKeyAndPruneRemovesOnlyItsOldEntry()
    {
        using var fx = new LatentCacheFixture();
        var old = fx.Open();
        old.Fill();
        var oldKeys = old.CurrentKeys();
        string stranger = Path.Combine(fx.CacheDir, "notes.txt");
        File.WriteAllText(stranger, "not a cache entry");

        // Rewrite image 3 with other pixels (image 3 of a differently seeded demo set).
        string other = Path.Combine(fx.Root, "other");
        DemoDatasetGenerator.Generate(other, count: 6, seed: 99, size: 16);
        File.Copy(Path.Combine(other, DemoDatasetGenerator.SubsetFolderName, "0003.png"), fx.ImagePath(3), overwrite: true);

        var cache = fx.Open();
        Assert.NotEqual(old.KeyOf(3, false).Value, cache.KeyOf(3, false).Value);
        var fill = cache.Fill();
        Assert.Equal((5, 1), (fill.Hits, fill.Encoded));
        Assert.Equal(7, fx.EntryFiles().Count);

        var pruned = cache.Prune();
        Assert.Equal(new[] { old.KeyOf(3, false).Value }, pruned.RemovedKeys);
        Assert.True(pruned.BytesFreed > 0);
        Assert.Equal(6, fx.EntryFiles().Count);
        Assert.True(File.Exists(stranger));
        Assert.Equal(5, oldKeys.Intersect(cache.CurrentKeys()).Count());
        Assert.Empty(cache.Prune().RemovedKeys);
    }

    [Fact]
    public void ChangedResolutionMissesEverythingUnderNewKeys()
    {
        using var fx = new LatentCacheFixture();
        var at16 = fx.Open(resolution: 16);
        at16.Fill();
        var at8 = fx.Open(resolution: 8);
        Assert.Empty(at16.CurrentKeys().Intersect(at8.CurrentKeys()));
        var fill = at8.Fill();
        Assert.Equal((0, 6), (fill.Hits, fill.Encoded));
        using (var latents = at8.GetOrEncode(0, false))
            Assert.Equal(new long[] { 1, 4, 4, 4 }, latents.Mean.shape);
        Assert.Equal(6, at8.Prune().RemovedKeys.Count);
        Assert.Equal(at8.CurrentKeys(), fx.EntryFiles().Keys.Select(p => Path.GetFileNameWithoutExtension(p)).ToHashSet());
    }

    [Fact]
    public void DifferentVaeMissesEverythingAndGetsItsOwnLatents()
    {
        using var fx = new LatentCacheFixture();
        var first = fx.Open();
        first.Fill();
        var otherVae = fx.NewVae(2);
        var second = fx.Open(vae: otherVae);
        Assert.NotEqual(first.VaeSha256, second.VaeSha256);
        Assert.Empty(first.CurrentKeys().Intersect(second.CurrentKeys()));
        Assert.Equal(6, second.Fill().Encoded);

        // Same seed, same weights: the identity is the weights, not the object.
        var again = fx.Open(vae: fx.NewVae(1));
        Assert.Equal(first.VaeSha256, again.VaeSha256);

        var (index, buckets) = fx.Dataset();
        using var cached = second.GetOrEncode(1, false);
        using var fresh = fx.FreshEncode(index, buckets, 1, false, otherVae);
        using var firstVae = first.GetOrEncode(1, false);
        Assert.True(LatentCacheFixture.BitEqual(cached, fresh));
        Assert.False(DataTestFiles.BitEqual(cached.Mean, firstVae.Mean));
    }

    [Fact]
    public void ConcurrentReadersAllGetTheCachedLatents()
    {
        using var fx = new LatentCacheFixture();
        fx.Open().Fill();
        var cache = fx.Open();
        var expected = new float[6][];
        for (int i = 0; i < 6; i++)
        {
            using var d = cache.GetOrEncode(i, false);
            expected[i] = d.Mean.data<float>().ToArray();
        }
        Parallel.For(0, 48, new ParallelOptions { MaxDegreeOfParallelism = 4 }, n =>
        {
            using var d = cache.GetOrEncode(n % 6, false);
            Assert.Equal(expected[n % 6], d.Mean.data<float>().ToArray());
        });
        Assert.Equal(6 + 48, cache.Statistics.Hits);
        Assert.Equal(0, cache.Statistics.Misses);
    }

    [Fact]
    public void TwoWritersOfTheSameKeysLeaveValidEntries()
    {
        // Two caches with their own VAE of the same weights stand for two processes sharing a cache folder.
        using var fx = new LatentCacheFixture();
        var a = fx.Open(vae: fx.NewVae(1));
        var b = fx.Open(vae: fx.NewVae(1));
        var results = new LatentCacheFillResult[2];
        Parallel.Invoke(() => results[0] = a.Fill(), () => results[1] = b.Fill());
        Assert.All(results, r => Assert.Equal(0, r.Rewritten));
        Assert.Equal(6, fx.EntryFiles().Count);
        Assert.Empty(Directory.EnumerateFiles(fx.CacheDir, "*.tmp", SearchOption.AllDirectories));
        var check = fx.Open().Fill();
        Assert.Equal((6, 0), (check.Hits, check.Encoded));
    }

    [Fact]
    public void FillStopsWhenCancelled()
    {
        using var fx = new LatentCacheFixture();
        using var cts = new CancellationTokenSource();
        var cache = fx.Open();
        Assert.Throws<OperationCanceledException>(() => cache.Fill(new SynchronousProgress<LatentCacheProgress>(p =>
        {
            if (p.Done == 2) cts.Cancel();
        }), cts.Token));
        Assert.Equal(2, fx.EntryFiles().Count);
    }

    [Fact]
    public void BenchmarkFillVersusRereadOfAFilledCache()
    {
        using var fx = new LatentCacheFixture(images: 32, size: 64);
        var watch = Stopwatch.StartNew();
        var first = fx.Open(resolution: 64);
        var openTime = watch.Elapsed;
        var fill = first.Fill();
        var second = fx.Open(resolution: 64);
        var reread = second.Fill();
        Assert.Equal((32, 32), (fill.Total, fill.Encoded));
        Assert.Equal((32, 0), (reread.Hits, reread.Encoded));
        Assert.Equal(32, second.Statistics.Hits);
        _output.WriteLine($"latent cache, 32 images at 64 px, tiny VAE, {torch.get_num_threads()} threads: open (manifest + VAE hash) {openTime.TotalMilliseconds:F0} ms; " +
            $"fill {fill.Elapsed.TotalMilliseconds:F0} ms ({fill.Elapsed.TotalMilliseconds / 32:F2} ms/image); re-read {reread.Elapsed.TotalMilliseconds:F0} ms ({reread.Elapsed.TotalMilliseconds / 32:F2} ms/image)");
    }
}

/// <summary>Calls the handler on the reporting thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
