namespace KohyaPS.Contracts;

/// <summary>
/// What a dataset was, file by file: every image with its size, SHA-256, pixel size, caption and subset, the
/// preprocessing settings, a summary, and hashes that identify the whole. Written into every checkpoint
/// (<c>dataset.json</c>), exported and imported as JSON, compared with <c>Compare-KohyaDatasetManifest</c>.
/// </summary>
public sealed class KohyaDatasetManifest
{
    public const string FormatName = "kohyaps-dataset-manifest";
    public const int CurrentFormatVersion = 1;

    public string Format { get; init; } = FormatName;
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>The folder or dataset TOML the manifest was made from (absolute, as it was then).</summary>
    public string Source { get; init; } = "";

    /// <summary>DreamBoothFolder or Toml.</summary>
    public string SourceKind { get; init; } = "";

    public DateTime CreatedUtc { get; init; }

    /// <summary>
    /// SHA-256 (hex) over the canonical form of the preprocessing settings, the subsets and every image (path,
    /// size, hash, pixel size, caption hash, subset, repeats, regularisation flag) in path order: independent of
    /// the order files were listed in, of the source location and of the creation time.
    /// </summary>
    public string ManifestHash { get; init; } = "";

    /// <summary>Like <see cref="ManifestHash"/> without the paths: equal for a dataset whose files were only renamed.</summary>
    public string ContentHash { get; init; } = "";

    public KohyaDatasetPreprocessing Preprocessing { get; init; } = new();

    public IReadOnlyList<KohyaDatasetSubset> Subsets { get; init; } = Array.Empty<KohyaDatasetSubset>();

    /// <summary>Every image, sorted by path (ordinal).</summary>
    public IReadOnlyList<KohyaDatasetImage> Images { get; init; } = Array.Empty<KohyaDatasetImage>();

    public KohyaDatasetSummary Summary { get; init; } = new();

    public override string ToString() => $"{Images.Count} images, {ManifestHash[..Math.Min(12, ManifestHash.Length)]}";
}

/// <summary>One image of a manifest.</summary>
public sealed class KohyaDatasetImage
{
    /// <summary>Path relative to the dataset root, '/' separated on every OS.</summary>
    public string Path { get; init; } = "";

    /// <summary>File size in bytes.</summary>
    public long Size { get; init; }

    /// <summary>SHA-256 of the file's bytes, lower-case hex.</summary>
    public string Sha256 { get; init; } = "";

    public int Width { get; init; }
    public int Height { get; init; }

    /// <summary>The caption the image trains with (the caption file's first line, or the subset's class tokens).</summary>
    public string Caption { get; init; } = "";

    /// <summary>SHA-256 of the caption's UTF-8 bytes, lower-case hex.</summary>
    public string CaptionSha256 { get; init; } = "";

    /// <summary>Index into <see cref="KohyaDatasetManifest.Subsets"/>.</summary>
    public int Subset { get; init; }

    public int Repeats { get; init; }

    /// <summary>A regularisation (prior preservation) image.</summary>
    public bool IsReg { get; init; }

    /// <summary>The bucket resolution the image trains at ("512x768"), or "" when it is too small for any bucket.</summary>
    public string Bucket { get; init; } = "";

    public override string ToString() => Path;
}

/// <summary>Dataset-wide preprocessing settings (kohya's dataset keys).</summary>
public sealed class KohyaDatasetPreprocessing
{
    public int Width { get; init; }
    public int Height { get; init; }
    public int BatchSize { get; init; }
    public bool EnableBucket { get; init; }
    public int MinBucketReso { get; init; }
    public int MaxBucketReso { get; init; }
    public int BucketResoSteps { get; init; }
    public bool BucketNoUpscale { get; init; }
}

/// <summary>One subset (image folder) of a manifest and its per-image settings (kohya's subset keys).</summary>
public sealed class KohyaDatasetSubset
{
    /// <summary>The image folder relative to the dataset root, '/' separated.</summary>
    public string Directory { get; init; } = "";

    public int NumRepeats { get; init; }
    public bool IsReg { get; init; }
    public string? ClassTokens { get; init; }
    public string CaptionExtension { get; init; } = "";
    public bool ShuffleCaption { get; init; }
    public int KeepTokens { get; init; }
    public bool FlipAug { get; init; }
    public bool RandomCrop { get; init; }
    public double CaptionDropoutRate { get; init; }

    public override string ToString() => Directory;
}

/// <summary>Counts over the whole manifest.</summary>
public sealed class KohyaDatasetSummary
{
    public int ImageCount { get; init; }
    public int RegularizationImageCount { get; init; }

    /// <summary>Samples per epoch before batching: the sum of every image's repeats.</summary>
    public long SamplesPerEpoch { get; init; }

    /// <summary>Bytes of all image files.</summary>
    public long TotalBytes { get; init; }

    /// <summary>Samples per epoch (images × repeats) per bucket resolution ("512x768"), as kohya's bucket info counts them.</summary>
    public IReadOnlyDictionary<string, long> Buckets { get; init; } = new Dictionary<string, long>();

    /// <summary>
    /// kohya's <c>ss_tag_frequency</c>: per image folder name, how many captions hold each tag (comma-separated,
    /// trimmed, lower-cased; repeats not counted).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> TagFrequency { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, int>>();
}
