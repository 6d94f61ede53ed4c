namespace KohyaPS.Contracts;

/// <summary>What changed between two dataset manifests.</summary>
public enum KohyaDatasetChangeKind
{
    /// <summary>An image only the difference has (by path and content).</summary>
    Added,

    /// <summary>An image only the reference has.</summary>
    Removed,

    /// <summary>Same path, other bytes (or another pixel size).</summary>
    Modified,

    /// <summary>Same path, other caption.</summary>
    CaptionChanged,

    /// <summary>Same bytes under another path.</summary>
    Renamed,

    /// <summary>A preprocessing setting (dataset-wide or of a subset) or an image's repeats or regularisation flag.</summary>
    PreprocessingChanged,

    /// <summary>The tag or bucket distribution moved further than the threshold (total-variation distance).</summary>
    DistributionShift,
}

/// <summary>One difference between a reference manifest and a difference manifest.</summary>
public sealed class KohyaDatasetChange
{
    public KohyaDatasetChangeKind Change { get; init; }

    /// <summary>The image's path (the new one for renames), the setting's name, or the measure's name.</summary>
    public string Name { get; init; } = "";

    /// <summary>For <see cref="KohyaDatasetChangeKind.Renamed"/>: the path in the reference.</summary>
    public string? PreviousName { get; init; }

    /// <summary>The reference's value: a hash, a caption, a setting value, or the shift threshold.</summary>
    public string? Reference { get; init; }

    /// <summary>The difference's value: a hash, a caption, a setting value, or the measured distance.</summary>
    public string? Difference { get; init; }

    public override string ToString() =>
        PreviousName is null ? $"{Change} {Name}" : $"{Change} {PreviousName} -> {Name}";
}

/// <summary>Everything Compare-KohyaDatasetManifest found, with counts and the distribution shift.</summary>
public sealed class KohyaDatasetComparison
{
    public string ReferenceHash { get; init; } = "";
    public string DifferenceHash { get; init; } = "";

    public IReadOnlyList<KohyaDatasetChange> Changes { get; init; } = Array.Empty<KohyaDatasetChange>();

    public int Added { get; init; }
    public int Removed { get; init; }
    public int Modified { get; init; }
    public int CaptionChanged { get; init; }
    public int Renamed { get; init; }
    public int PreprocessingChanged { get; init; }

    /// <summary>Total-variation distance (0 to 1) of the tag distributions, images weighted by repeats.</summary>
    public double TagShift { get; init; }

    /// <summary>Total-variation distance (0 to 1) of the bucket histograms, images weighted by repeats.</summary>
    public double BucketShift { get; init; }

    public double TagShiftThreshold { get; init; }
    public double BucketShiftThreshold { get; init; }
    public bool TagShiftExceeded => TagShift > TagShiftThreshold;
    public bool BucketShiftExceeded => BucketShift > BucketShiftThreshold;

    /// <summary>No change of any kind.</summary>
    public bool IsIdentical => Changes.Count == 0;

    /// <summary>Only renames: the same images, captions and settings under other paths.</summary>
    public bool IsPureRename => Changes.Count > 0 && Changes.All(c => c.Change == KohyaDatasetChangeKind.Renamed);

    /// <summary>"2 added, 1 caption changed; tag shift 0.12 (threshold 0.10)"; "identical" when nothing changed.</summary>
    public string Summary { get; init; } = "";

    public override string ToString() => Summary;
}
