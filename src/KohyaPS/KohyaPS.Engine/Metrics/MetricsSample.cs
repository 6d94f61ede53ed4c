using KohyaPS.Contracts;

namespace KohyaPS.Engine.Metrics;

/// <summary>One image to measure: where it is, what it was asked to show, and what produced it.</summary>
/// <param name="Seed">The sampling seed, or null when unknown (then the image takes part in no consistency pair and counts as its own seed for diversity).</param>
/// <param name="Checkpoint">The checkpoint it came from ("" when unknown); images are measured per (Checkpoint, Step).</param>
public sealed record MetricsSample(string Path, string Prompt, long? Seed = null, string Checkpoint = "", long? Step = null)
{
    /// <summary>The measurement input for a sample Invoke-KohyaSample (or sampling during training) wrote.</summary>
    public static MetricsSample From(KohyaSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return new MetricsSample(sample.Path, sample.Prompt, sample.Seed, sample.Checkpoint, sample.Step);
    }
}

/// <summary>Progress of a measurement: images whose features are done, out of all images (samples and reference).</summary>
public sealed record MetricsProgress(string Stage, int Done, int Total, bool Completed = false)
{
    public int PercentComplete => Total <= 0 ? 100 : (int)Math.Clamp(Done * 100L / Total, 0, 100);
}

/// <summary>The metrics of one checkpoint, and the reason FID is missing when it could not be computed.</summary>
/// <param name="FeatureDimension">The extractor's feature length: FID from no more samples than this rests on a rank-deficient covariance.</param>
public sealed record OutputMeasurement(KohyaOutputMetrics Metrics, KohyaException? FidError, int FeatureDimension);
