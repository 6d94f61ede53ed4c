using System.Diagnostics;
using KohyaPS.Engine;
using KohyaPS.Engine.Caching;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Datasets;
using KohyaPS.Tests.Checkpoints;
using KohyaPS.Tests.Models;
using TorchSharp;

namespace KohyaPS.Tests.Caching;

/// <summary>Damaged, foreign, half-written and unwritable entries, and settings the cache refuses.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class LatentCacheDamageTests
{
    /// <summary>Fills the cache, lets <paramref name="damage"/> spoil entry 1's file, and checks that a new lookup repairs it.</summary>
    private static void AssertDetectedAndReencoded(Action<LatentCacheFixture, LatentCache, string> damage, string reasonContains)
    {
        using var fx = new LatentCacheFixture();
        var filled = fx.Open();
        filled.Fill();
        string path = Path.Combine(fx.CacheDir, filled.KeyOf(1, false).Value[..2], filled.KeyOf(1, false).Value + ".safetensors");
        damage(fx, filled, path);

        var repairs = new List<LatentCacheRepair>();
        var cache = fx.Open(repaired: repairs.Add);
        var (index, buckets) = fx.Dataset();
        using (var latents = cache.GetOrEncode(1, false))
        using (var fresh = fx.FreshEncode(index, buckets, 1, false))
            Assert.True(LatentCacheFixture.BitEqual(latents, fresh));
        var repair = Assert.Single(repairs);
        Assert.Equal((1, false, path), (repair.EntryIndex, repair.Flipped, repair.Path));
        Assert.Contains(reasonContains, repair.Reason, StringComparison.Ordinal);
        Assert.Equal(new LatentCacheStatistics(Hits: 0, Misses: 1, Rewritten: 1, Written: 1), cache.Statistics);

        // The rewritten file is whole again: a fill finds every entry valid.
        var fill = fx.Open().Fill();
        Assert.Equal((6, 0), (fill.Hits, fill.Encoded));
    }

    [Fact]
    public void TruncatedEntryIsDetectedAndReencoded() =>
        AssertDetectedAndReencoded((_, _, path) =>
        {
            using var f = new FileStream(path, FileMode.Open);
            f.SetLength(f.Length - 40);
        }, "truncated");

    [Fact]
    public void EntryTruncatedInsideItsHeaderIsDetectedAndReencoded() =>
        AssertDetectedAndReencoded((_, _, path) =>
        {
            using var f = new FileStream(path, FileMode.Open);
            f.SetLength(5);
        }, "");

    [Fact]
    public void FlippedByteInTheDataIsDetectedAndReencoded() =>
        AssertDetectedAndReencoded((_, _, path) =>
        {
            var bytes = File.ReadAllBytes(path);
            bytes[^7] ^= 0x04;
            File.WriteAllBytes(path, bytes);
        }, "SHA-256");

    [Fact]
    public void WrongShapeEntryIsDetectedAndReencoded() =>
        AssertDetectedAndReencoded((_, cache, path) =>
        {
            // A well-formed file with this key's metadata and a valid data hash, but latents of another size.
            using var mean = torch.zeros(1, 4, 4, 4);
            using var logVar = torch.zeros(1, 4, 4, 4);
            SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor> { ["mean"] = mean, ["logvar"] = logVar },
                cache.KeyOf(1, false).ToMetadata(), embedModelHash: true);
        }, "not F32 [1, 4, 8, 8]");

    [Fact]
    public void FileWithAnotherKeysMetadataIsDetectedAndReencoded() =>
        AssertDetectedAndReencoded((_, cache, path) =>
        {
            string foreign = cache.KeyOf(4, false).Value;
            File.Copy(Path.Combine(Path.GetDirectoryName(path)!, "..", foreign[..2], foreign + ".safetensors"), path, overwrite: true);
        }, "kohyaps.latent_cache.key");

    [Fact]
    public void KilledWriteLeavesATempFileThatIsIgnoredAndCleaned()
    {
        using var fx = new LatentCacheFixture();
        var key = fx.Open().KeyOf(0, false).Value;
        string folder = Directory.CreateDirectory(Path.Combine(fx.CacheDir, key[..2])).FullName;
        // What a kill during the write leaves: a partial temp file and no entry under the key's name.
        string stale = Path.Combine(folder, $"{key}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(stale, new byte[] { 1, 2, 3 });
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow - LatentCache.StaleTempAge - TimeSpan.FromMinutes(1));
        // A young one may be another process writing the same key right now: left alone.
        string young = Path.Combine(folder, $"{key}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(young, new byte[] { 4, 5 });

        var repairs = new List<LatentCacheRepair>();
        var cache = fx.Open(repaired: repairs.Add);
        Assert.Equal(new[] { stale }, cache.CleanedTemps);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(young));
        using (cache.GetOrEncode(0, false)) { }
        Assert.Empty(repairs);
        Assert.Equal((0L, 1L, 0L), (cache.Statistics.Hits, cache.Statistics.Misses, cache.Statistics.Rewritten));
        Assert.Equal(Path.Combine(folder, key + ".safetensors"), Assert.Single(fx.EntryFiles().Keys));

        File.SetLastWriteTimeUtc(young, DateTime.UtcNow - LatentCache.StaleTempAge - TimeSpan.FromMinutes(1));
        var pruned = cache.Prune();
        Assert.Equal(new[] { young }, pruned.RemovedTemps);
        Assert.Empty(pruned.RemovedKeys);
        Assert.Equal(2, pruned.BytesFreed);
    }

    [Fact]
    public void RandomCropIsRefusedWithItsId()
    {
        using var fx = new LatentCacheFixture();
        var (index, buckets) = fx.Dataset(randomCrop: true);
        var hashes = LatentCache.ImageHashes(index, DatasetManifestBuilder.Build(index, parallelism: 1));
        var ex = Assert.Throws<KohyaException>(() => new LatentCache(fx.CacheDir, fx.Vae, index, buckets, hashes));
        Assert.Equal(LatentCacheErrors.RandomCropId, ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidOperation, ex.Kind);
        Assert.Contains("random_crop", ex.RecommendedAction, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => BatchBuilder.SamplePixels(index, buckets, 0, false));
        Assert.False(Directory.Exists(fx.CacheDir));
    }

    [Fact]
    public void HashesThatDoNotDescribeTheDatasetAreRefused()
    {
        using var fx = new LatentCacheFixture();
        var (index, buckets) = fx.Dataset();
        var manifest = DatasetManifestBuilder.Build(index, parallelism: 1);
        var ex = Assert.Throws<KohyaException>(() => new LatentCache(fx.CacheDir, fx.Vae, index, buckets, LatentCache.ImageHashes(index, manifest).Take(5).ToList()));
        Assert.Equal(LatentCacheErrors.HashesMismatchId, ex.ErrorId);
        var partial = new KohyaPS.Contracts.KohyaDatasetManifest { Images = manifest.Images.Skip(1).ToList() };
        ex = Assert.Throws<KohyaException>(() => LatentCache.ImageHashes(index, partial));
        Assert.Equal(LatentCacheErrors.HashesMismatchId, ex.ErrorId);
        Assert.Contains(index[0].RelativePath, ex.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(ex.RecommendedAction));
    }

    [Fact]
    public void NoRoomForAnEntryIsReportedAndLeavesNoFile()
    {
        using var fx = new LatentCacheFixture();
        var cache = fx.Open(freeBytes: _ => 100);
        var ex = Assert.Throws<KohyaException>(() => cache.GetOrEncode(0, false));
        Assert.Equal(LatentCacheErrors.DiskFullId, ex.ErrorId);
        Assert.Equal(KohyaErrorKind.ResourceUnavailable, ex.Kind);
        Assert.Empty(Directory.EnumerateFiles(fx.CacheDir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void RealDiskFullDuringAWriteRemovesTheTempFile()
    {
        using var fx = new LatentCacheFixture();
        string mount = Directory.CreateDirectory(Path.Combine(fx.Root, "small")).FullName;
        if (!CheckpointStoreTests.TryMountTmpfs(mount, "256k"))
            return; // needs root; the injected free-space test above still runs
        try
        {
            // Fill the volume, then tell the cache there is room, so the write itself hits ENOSPC.
            try
            {
                using var filler = new FileStream(Path.Combine(mount, "filler"), FileMode.Create);
                var block = new byte[4096];
                while (true) filler.Write(block);
            }
            catch (IOException)
            {
            }
            string cacheDir = Path.Combine(mount, "cache");
            var cache = fx.Open(freeBytes: _ => long.MaxValue, cacheDir: cacheDir);
            var ex = Assert.Throws<KohyaException>(() => cache.GetOrEncode(0, false));
            Assert.True(ex.ErrorId is LatentCacheErrors.DiskFullId, $"{ex.ErrorId}: {ex.Message}");
            Assert.Empty(Directory.Exists(cacheDir) ? Directory.EnumerateFiles(cacheDir, "*", SearchOption.AllDirectories) : Array.Empty<string>());
        }
        finally
        {
            Process.Start("umount", mount)!.WaitForExit();
        }
    }
}
