namespace KohyaPS.Engine.Data;

/// <summary>
/// Dataset-wide settings (kohya's dataset keys). Defaults are kohya's, except that the resolution defaults to
/// 512×512 because kohya has no default at all.
/// </summary>
public sealed record DatasetSettings
{
    /// <summary>Training width in pixels (kohya <c>resolution</c>, first value).</summary>
    public int Width { get; init; } = 512;

    /// <summary>Training height in pixels (kohya <c>resolution</c>, second value or the same).</summary>
    public int Height { get; init; } = 512;

    public int BatchSize { get; init; } = 1;

    public bool EnableBucket { get; init; }

    public int MinBucketReso { get; init; } = 256;

    public int MaxBucketReso { get; init; } = 1024;

    /// <summary>Bucket sides are multiples of this; kohya uses 64, tiny test sets may use 8.</summary>
    public int BucketResoSteps { get; init; } = 64;

    public bool BucketNoUpscale { get; init; }

    /// <summary>Throws <see cref="DatasetErrors.InvalidDatasetValue"/> for values no training could use.</summary>
    public void Validate(string source, string section = "datasets")
    {
        Positive(Width, "resolution", source, section);
        Positive(Height, "resolution", source, section);
        Positive(BatchSize, "batch_size", source, section);
        if (!EnableBucket)
            return;
        Positive(BucketResoSteps, "bucket_reso_steps", source, section);
        Positive(MinBucketReso, "min_bucket_reso", source, section);
        Positive(MaxBucketReso, "max_bucket_reso", source, section);
        // kohya rounds these to the step with a warning; we refuse instead of silently training on other buckets.
        if (MinBucketReso % BucketResoSteps != 0)
            throw DatasetErrors.InvalidValue("min_bucket_reso", section, source, $"a multiple of bucket_reso_steps ({BucketResoSteps})", (long)MinBucketReso);
        if (MaxBucketReso % BucketResoSteps != 0)
            throw DatasetErrors.InvalidValue("max_bucket_reso", section, source, $"a multiple of bucket_reso_steps ({BucketResoSteps})", (long)MaxBucketReso);
        if (MinBucketReso > Math.Min(Width, Height))
            throw DatasetErrors.InvalidValue("min_bucket_reso", section, source, $"at most the smaller resolution side ({Math.Min(Width, Height)})", (long)MinBucketReso);
        if (MaxBucketReso < Math.Max(Width, Height))
            throw DatasetErrors.InvalidValue("max_bucket_reso", section, source, $"at least the larger resolution side ({Math.Max(Width, Height)})", (long)MaxBucketReso);
    }

    private static void Positive(int value, string key, string source, string section)
    {
        if (value < 1)
            throw DatasetErrors.InvalidValue(key, section, source, "a positive integer", (long)value);
    }
}

/// <summary>
/// Per-subset settings (kohya's subset keys). Defaults are kohya's, except <see cref="CaptionExtension"/>, which
/// defaults to ".txt" (kohya: ".caption") because that is what almost every captioning tool writes.
/// </summary>
public sealed record SubsetSettings
{
    public int NumRepeats { get; init; } = 1;

    /// <summary>Extension of the caption file beside each image, with the dot (".txt", ".caption").</summary>
    public string CaptionExtension { get; init; } = ".txt";

    public bool ShuffleCaption { get; init; }

    /// <summary>How many leading comma-separated tags stay in place when captions are shuffled.</summary>
    public int KeepTokens { get; init; }

    /// <summary>Horizontal flip with probability 0.5.</summary>
    public bool FlipAug { get; init; }

    /// <summary>kohya's hue jitter; not implemented, so true is rejected by <see cref="Validate"/>.</summary>
    public bool ColorAug { get; init; }

    public bool RandomCrop { get; init; }

    /// <summary>Probability in [0, 1] that a sample's caption is replaced by "".</summary>
    public double CaptionDropoutRate { get; init; }

    /// <summary>A regularisation (prior preservation) subset.</summary>
    public bool IsReg { get; init; }

    /// <summary>Caption for images that have no caption file (kohya <c>class_tokens</c>); null when none.</summary>
    public string? ClassTokens { get; init; }

    /// <summary>Throws <see cref="DatasetErrors.InvalidDatasetValue"/> or <see cref="DatasetErrors.UnsupportedDatasetOption"/>.</summary>
    public void Validate(string source, string section = "datasets.subsets")
    {
        if (NumRepeats < 1)
            throw DatasetErrors.InvalidValue("num_repeats", section, source, "a positive integer", (long)NumRepeats);
        if (KeepTokens < 0)
            throw DatasetErrors.InvalidValue("keep_tokens", section, source, "zero or a positive integer", (long)KeepTokens);
        if (!(CaptionDropoutRate >= 0 && CaptionDropoutRate <= 1))
            throw DatasetErrors.InvalidValue("caption_dropout_rate", section, source, "a number from 0 to 1", CaptionDropoutRate);
        if (string.IsNullOrWhiteSpace(CaptionExtension) || CaptionExtension == "."
            || CaptionExtension.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw DatasetErrors.InvalidValue("caption_extension", section, source, "a file extension such as \".txt\"", CaptionExtension);
        if (ColorAug)
            throw DatasetErrors.Unsupported("color_aug", section, source, "colour augmentation is not implemented; set color_aug = false.");
    }

    /// <summary>kohya accepts "txt" for ".txt"; this returns the extension with its dot.</summary>
    public static string NormalizeExtension(string extension) =>
        extension.Length > 0 && extension[0] != '.' ? "." + extension : extension;
}

/// <summary>One image folder of a dataset and the settings its images train with.</summary>
/// <param name="ImageDirectory">Absolute path of the folder (images are not searched in its subfolders).</param>
public sealed record DatasetSubset(string ImageDirectory, SubsetSettings Settings);

/// <summary>Where a <see cref="DatasetDefinition"/> came from.</summary>
public enum DatasetSourceKind
{
    DreamBoothFolder,
    Toml,
}

/// <summary>
/// A dataset as configured: its subsets and dataset-wide settings, before any image is looked at.
/// Built by <see cref="DreamBoothFolderReader"/> or <see cref="DatasetTomlReader"/>; indexed by <see cref="DatasetIndexer"/>.
/// </summary>
public sealed class DatasetDefinition
{
    public DatasetDefinition(
        string sourcePath,
        DatasetSourceKind sourceKind,
        string rootDirectory,
        DatasetSettings settings,
        IReadOnlyList<DatasetSubset> subsets,
        IReadOnlyList<string>? warnings = null)
    {
        SourcePath = sourcePath;
        SourceKind = sourceKind;
        RootDirectory = rootDirectory;
        Settings = settings;
        Subsets = subsets;
        Warnings = warnings ?? Array.Empty<string>();
    }

    /// <summary>The folder or TOML file the definition was read from (absolute).</summary>
    public string SourcePath { get; }

    public DatasetSourceKind SourceKind { get; }

    /// <summary>Image paths in the index are relative to this folder (the dataset folder, or the TOML's folder).</summary>
    public string RootDirectory { get; }

    public DatasetSettings Settings { get; }

    public IReadOnlyList<DatasetSubset> Subsets { get; }

    /// <summary>Things the reader skipped or adjusted, in the order met (the engine never prints them itself).</summary>
    public IReadOnlyList<string> Warnings { get; }
}
