namespace KohyaPS.Contracts;

/// <summary>One problem Test-KohyaDataset found in a dataset.</summary>
public sealed class KohyaDatasetFinding
{
    /// <summary>Stable id: ImageUndecodable, ZeroByteFile, CaptionMissing, CaptionEmpty, DuplicateImage, ImageBelowSmallestBucket, ImageTooSmall, UnsupportedImageFormat.</summary>
    public string ErrorId { get; init; } = "";

    public KohyaFindingSeverity Severity { get; init; }

    /// <summary>The file the finding is about, relative to the dataset root ('/' separated).</summary>
    public string Path { get; init; } = "";

    /// <summary>Another file involved (the first copy of a duplicate), or null.</summary>
    public string? RelatedPath { get; init; }

    public string Message { get; init; } = "";

    public override string ToString() => $"{Severity} {ErrorId}: {Path}";
}

/// <summary>Progress of hashing or checking a dataset's files.</summary>
public sealed class KohyaDatasetProgress
{
    /// <summary>What is being done: "Hashing images", "Checking images".</summary>
    public string Activity { get; init; } = "";
    public int FilesDone { get; init; }
    public int FilesTotal { get; init; }
    public long BytesDone { get; init; }
    public long BytesTotal { get; init; }
    public TimeSpan Elapsed { get; init; }
    public bool Completed { get; init; }

    public double BytesPerSecond => Elapsed.TotalSeconds > 0 ? BytesDone / Elapsed.TotalSeconds : 0;

    public int PercentComplete =>
        BytesTotal > 0 ? (int)Math.Clamp(100.0 * BytesDone / BytesTotal, 0, 100)
        : FilesTotal > 0 ? (int)Math.Clamp(100.0 * FilesDone / FilesTotal, 0, 100) : 100;
}
