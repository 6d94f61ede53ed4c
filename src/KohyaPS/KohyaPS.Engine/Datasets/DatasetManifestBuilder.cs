using KohyaPS.Contracts;
using KohyaPS.Engine.Data;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// Makes a <see cref="KohyaDatasetManifest"/> from an indexed dataset: hashes every image (in parallel, with
/// progress), records the captions, buckets and settings, and computes the summary and the hashes.
/// </summary>
public static class DatasetManifestBuilder
{
    public const string HashingActivity = "Hashing images";

    /// <summary>
    /// Builds the manifest of <paramref name="index"/>. <paramref name="parallelism"/> is the number of files
    /// hashed at once (0: one per logical processor). Throws <see cref="DatasetManifestErrors.FileUnreadable"/> for
    /// a file that cannot be read.
    /// </summary>
    public static KohyaDatasetManifest Build(DatasetIndex index, IProgress<KohyaDatasetProgress>? progress = null, int parallelism = 0,
        CancellationToken cancellation = default)
    {
        var definition = index.Definition;
        var entries = index.Entries;
        long totalBytes = entries.Sum(e => SafeLength(e.AbsolutePath));
        var meter = new DatasetProgressMeter(progress, HashingActivity, entries.Count, totalBytes);
        var hashes = new (string Sha256, long Size)[entries.Count];
        FileHashing.ForEach(entries.Count, parallelism, cancellation, i =>
        {
            hashes[i] = FileHashing.Hash(entries[i].AbsolutePath, meter.AddBytes);
            meter.FileDone();
        });
        meter.Complete();

        var settings = definition.Settings;
        var planned = BucketPlanner.Plan(settings);
        var images = new List<KohyaDatasetImage>(entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            images.Add(new KohyaDatasetImage
            {
                Path = e.RelativePath,
                Size = hashes[i].Size,
                Sha256 = hashes[i].Sha256,
                Width = e.Width,
                Height = e.Height,
                Caption = e.Caption,
                CaptionSha256 = FileHashing.HashText(e.Caption),
                Subset = e.SubsetIndex,
                Repeats = e.Repeats,
                IsReg = e.IsReg,
                Bucket = BucketName(e.Width, e.Height, settings, planned),
            });
        }
        images.Sort(static (a, b) =>
        {
            int c = string.CompareOrdinal(a.Path, b.Path);
            return c != 0 ? c : a.Subset.CompareTo(b.Subset);
        });

        var subsets = definition.Subsets.Select(s => Subset(definition.RootDirectory, s)).ToList();
        return Assemble(definition.SourcePath, definition.SourceKind.ToString(), DateTime.UtcNow, Preprocessing(settings), subsets, images);
    }

    /// <summary>A manifest from its parts, with the summary and both hashes computed.</summary>
    public static KohyaDatasetManifest Assemble(string source, string sourceKind, DateTime createdUtc, KohyaDatasetPreprocessing preprocessing,
        IReadOnlyList<KohyaDatasetSubset> subsets, IReadOnlyList<KohyaDatasetImage> images) => new()
    {
        Source = source,
        SourceKind = sourceKind,
        CreatedUtc = createdUtc,
        ManifestHash = ManifestHashing.ManifestHash(preprocessing, subsets, images),
        ContentHash = ManifestHashing.ContentHash(preprocessing, subsets, images),
        Preprocessing = preprocessing,
        Subsets = subsets,
        Images = images,
        Summary = Summarize(subsets, images),
    };

    public static KohyaDatasetSummary Summarize(IReadOnlyList<KohyaDatasetSubset> subsets, IReadOnlyList<KohyaDatasetImage> images)
    {
        var buckets = images.GroupBy(i => i.Bucket, StringComparer.Ordinal)
            .Select(g => (Key: g.Key, Resolution: ParseBucket(g.Key), Samples: g.Sum(i => (long)i.Repeats)))
            .OrderBy(b => b.Resolution.Width).ThenBy(b => b.Resolution.Height).ThenBy(b => b.Key, StringComparer.Ordinal);
        var histogram = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var b in buckets)
            histogram[b.Key] = b.Samples;
        return new KohyaDatasetSummary
        {
            ImageCount = images.Count,
            RegularizationImageCount = images.Count(i => i.IsReg),
            SamplesPerEpoch = images.Sum(i => (long)i.Repeats),
            TotalBytes = images.Sum(i => i.Size),
            Buckets = histogram,
            TagFrequency = CaptionTags.Frequency(images, subsets),
        };
    }

    public static KohyaDatasetPreprocessing Preprocessing(DatasetSettings s) => new()
    {
        Width = s.Width,
        Height = s.Height,
        BatchSize = s.BatchSize,
        EnableBucket = s.EnableBucket,
        MinBucketReso = s.MinBucketReso,
        MaxBucketReso = s.MaxBucketReso,
        BucketResoSteps = s.BucketResoSteps,
        BucketNoUpscale = s.BucketNoUpscale,
    };

    /// <summary>The dataset settings a manifest's preprocessing describes (to plan its buckets again).</summary>
    public static DatasetSettings Settings(KohyaDatasetPreprocessing p) => new()
    {
        Width = p.Width,
        Height = p.Height,
        BatchSize = p.BatchSize,
        EnableBucket = p.EnableBucket,
        MinBucketReso = p.MinBucketReso,
        MaxBucketReso = p.MaxBucketReso,
        BucketResoSteps = p.BucketResoSteps,
        BucketNoUpscale = p.BucketNoUpscale,
    };

    /// <summary>"WxH" of the bucket an image of this size trains in, or "" when it is too small for any.</summary>
    public static string BucketName(int width, int height, DatasetSettings settings, IReadOnlyList<BucketResolution> planned)
    {
        var bucket = BucketPlanner.Select(width, height, settings, planned).Bucket;
        return bucket.Width < 1 || bucket.Height < 1 ? "" : bucket.ToString();
    }

    private static KohyaDatasetSubset Subset(string root, DatasetSubset subset)
    {
        var s = subset.Settings;
        return new KohyaDatasetSubset
        {
            Directory = Path.GetRelativePath(root, subset.ImageDirectory).Replace(Path.DirectorySeparatorChar, '/'),
            NumRepeats = s.NumRepeats,
            IsReg = s.IsReg,
            ClassTokens = s.ClassTokens,
            CaptionExtension = s.CaptionExtension,
            ShuffleCaption = s.ShuffleCaption,
            KeepTokens = s.KeepTokens,
            FlipAug = s.FlipAug,
            RandomCrop = s.RandomCrop,
            CaptionDropoutRate = s.CaptionDropoutRate,
        };
    }

    private static (int Width, int Height) ParseBucket(string name)
    {
        int x = name.IndexOf('x', StringComparison.Ordinal);
        return x > 0 && int.TryParse(name.AsSpan(0, x), out int w) && int.TryParse(name.AsSpan(x + 1), out int h) ? (w, h) : (0, 0);
    }

    private static long SafeLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
