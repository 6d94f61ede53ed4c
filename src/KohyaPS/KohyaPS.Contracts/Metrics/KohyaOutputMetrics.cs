namespace KohyaPS.Contracts;

/// <summary>
/// What the samples of one checkpoint score, written by Measure-KohyaOutput. Two of these side by side (say the
/// checkpoint before an interruption and the one after the resumed segment) show what the segment changed.
/// A metric is null when it could not be measured for this checkpoint (no reference for FID, no prompt naming a
/// known shape or colour, no repeated prompt and seed, a single seed per prompt).
/// </summary>
public sealed class KohyaOutputMetrics
{
    /// <summary>The checkpoint folder the samples came from ("" for samples without one).</summary>
    public string Checkpoint { get; init; } = "";

    /// <summary>The cumulative training step of that checkpoint (null when the samples did not say).</summary>
    public long? Step { get; init; }

    public int SampleCount { get; init; }

    /// <summary>Fréchet distance between the samples' and the reference images' feature Gaussians (lower is closer).</summary>
    public double? Fid { get; init; }

    /// <summary>Number of reference images the FID compared against.</summary>
    public int ReferenceCount { get; init; }

    /// <summary>Share of samples whose predicted shape and colour both match their prompt (demo classifier only).</summary>
    public double? PromptAlignment { get; init; }

    /// <summary>Share of samples (whose prompt names a shape) whose predicted shape matches.</summary>
    public double? ShapeAccuracy { get; init; }

    /// <summary>Share of samples (whose prompt names a colour) whose predicted colour matches.</summary>
    public double? ColorAccuracy { get; init; }

    /// <summary>Number of samples the alignment was judged on (their prompt names a known shape and colour).</summary>
    public int AlignmentCount { get; init; }

    /// <summary>Share of repeated (prompt, seed) pairs whose images are pixel-identical (1 = fully reproducible).</summary>
    public double? Consistency { get; init; }

    /// <summary>Number of (prompt, seed) groups with more than one image that <see cref="Consistency"/> compared.</summary>
    public int ConsistencyPairs { get; init; }

    /// <summary>Mean pairwise Euclidean distance between the features of one prompt's images across seeds, averaged over prompts.</summary>
    public double? Diversity { get; init; }

    /// <summary>Demo or InceptionV3.</summary>
    public string FeatureExtractor { get; init; } = "";

    public override string ToString() => $"{Checkpoint} step {Step}: FID {Fid}, alignment {PromptAlignment}";
}
