using KohyaPS.Engine.Caching;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Datasets;
using KohyaPS.Engine.Models.Vae;
using KohyaPS.Tests.Data;
using TorchSharp;

namespace KohyaPS.Tests.Caching;

/// <summary>
/// A demo dataset on disk, indexed the way training does, a seeded tiny VAE and a cache folder. Everything is
/// real: PNG files, the manifest's SHA-256 of each, the VAE's encoder.
/// </summary>
internal sealed class LatentCacheFixture : IDisposable
{
    private readonly TempDirectory _tmp = new();
    private readonly List<AutoencoderKL> _vaes = new();

    public LatentCacheFixture(int images = 6, int size = 16, long vaeSeed = 1)
    {
        DemoDatasetGenerator.Generate(DataRoot, count: images, seed: 7, size: size);
        Vae = NewVae(vaeSeed);
    }

    public string DataRoot => _tmp.Combine("data");

    public string CacheDir => _tmp.Combine("cache");

    public string Root => _tmp.Path;

    public AutoencoderKL Vae { get; }

    /// <summary>A tiny VAE whose weights come from <paramref name="seed"/> (disposed with the fixture).</summary>
    public AutoencoderKL NewVae(long seed)
    {
        torch.manual_seed(seed);
        var vae = new AutoencoderKL(VaeConfig.Tiny);
        _vaes.Add(vae);
        return vae;
    }

    /// <summary>The dataset as training sees it at <paramref name="resolution"/>, with these subset settings.</summary>
    public (DatasetIndex Index, BucketAssignment Buckets) Dataset(int resolution = 16, bool flipAug = false, bool randomCrop = false)
    {
        var options = new DreamBoothFolderOptions
        {
            Dataset = new DatasetSettings { Width = resolution, Height = resolution, BatchSize = 2 },
            Subset = new SubsetSettings { FlipAug = flipAug, RandomCrop = randomCrop },
        };
        var index = DatasetIndexer.Build(DreamBoothFolderReader.Read(DataRoot, options));
        return (index, BucketPlanner.Assign(index));
    }

    /// <summary>Opens the cache over the dataset, taking the image hashes from a freshly built manifest.</summary>
    public LatentCache Open(int resolution = 16, bool flipAug = false, AutoencoderKL? vae = null,
        Action<LatentCacheRepair>? repaired = null, Func<string, long>? freeBytes = null, string? cacheDir = null)
    {
        var (index, buckets) = Dataset(resolution, flipAug);
        var manifest = DatasetManifestBuilder.Build(index, parallelism: 1);
        return new LatentCache(cacheDir ?? CacheDir, vae ?? Vae, index, buckets, LatentCache.ImageHashes(index, manifest), freeBytes)
        {
            Repaired = repaired,
        };
    }

    /// <summary>The path of demo image number <paramref name="i"/>.</summary>
    public string ImagePath(int i) =>
        Path.Combine(DataRoot, DemoDatasetGenerator.SubsetFolderName, i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture) + ".png");

    /// <summary>Every entry file of the cache folder with its last write time.</summary>
    public Dictionary<string, DateTime> EntryFiles() =>
        Directory.Exists(CacheDir)
            ? Directory.EnumerateFiles(CacheDir, "*.safetensors", SearchOption.AllDirectories).ToDictionary(p => p, File.GetLastWriteTimeUtc)
            : new Dictionary<string, DateTime>();

    /// <summary>A fresh encode of one sample, through the same pixel path and encoder as the cache, for comparison.</summary>
    public LatentDistribution FreshEncode(DatasetIndex index, BucketAssignment buckets, int entry, bool flipped, AutoencoderKL? vae = null)
    {
        using var pixels = BatchBuilder.SamplePixels(index, buckets, entry, flipped);
        return LatentEncoder.Encode(vae ?? Vae, pixels);
    }

    public static bool BitEqual(LatentDistribution a, LatentDistribution b) =>
        DataTestFiles.BitEqual(a.Mean, b.Mean) && DataTestFiles.BitEqual(a.LogVar, b.LogVar);

    public void Dispose()
    {
        foreach (var vae in _vaes)
            vae.Dispose();
        _tmp.Dispose();
    }
}
