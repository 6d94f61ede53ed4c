using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class DataSection
{
    [Description("Training resolution in pixels (square side; buckets keep its area).")]
    [Impact(KohyaImpact.Trajectory)]
    public int Resolution { get; set; } = 32;

    [Description("Images per micro-batch.")]
    [Impact(KohyaImpact.Trajectory)]
    public int BatchSize { get; set; } = 8;

    [Description("Micro-batches per optimizer step.")]
    [Impact(KohyaImpact.Trajectory)]
    public int GradientAccumulationSteps { get; set; } = 1;

    [Description("Group images into aspect-ratio buckets.")]
    [Impact(KohyaImpact.Trajectory)]
    public bool EnableBucket { get; set; }

    [Description("Smallest bucket side.")]
    [Impact(KohyaImpact.Trajectory)]
    public int MinBucketReso { get; set; } = 16;

    [Description("Largest bucket side.")]
    [Impact(KohyaImpact.Trajectory)]
    public int MaxBucketReso { get; set; } = 64;

    [Description("Bucket side granularity in pixels.")]
    [Impact(KohyaImpact.Trajectory)]
    public int BucketResoSteps { get; set; } = 8;

    [Description("Never upscale an image to fill a bucket.")]
    [Impact(KohyaImpact.Trajectory)]
    public bool BucketNoUpscale { get; set; }

    [Description("Latent models: encode every image through the VAE once and keep its latent distribution on disk, keyed by the image's content hash, its preprocessing, the VAE and the thread count (kohya cache_latents_to_disk). Training is bitwise the same with and without the cache; random_crop subsets are refused.")]
    [Impact(KohyaImpact.Cosmetic)]
    public bool CacheLatents { get; set; }

    [Description("Folder of the latent cache; empty means <run>/cache/latents. A shared folder is safe (every input is in the key) and is never pruned; the run's own folder drops entries the dataset no longer has.")]
    [Impact(KohyaImpact.Cosmetic)]
    public string LatentCacheDirectory { get; set; } = "";

    [Description("Default for subsets that do not say: random horizontal flips.")]
    [Impact(KohyaImpact.Trajectory)]
    public bool FlipAug { get; set; }

    [Description("Default for subsets that do not say: shuffle comma-separated caption tags.")]
    [Impact(KohyaImpact.Trajectory)]
    public bool ShuffleCaption { get; set; }

    [Description("Default for subsets that do not say: leading tags kept in place when shuffling.")]
    [Impact(KohyaImpact.Trajectory)]
    public int KeepTokens { get; set; }

    [Description("Default for subsets that do not say: chance a caption is replaced by the empty prompt.")]
    [Impact(KohyaImpact.Trajectory)]
    public double CaptionDropoutRate { get; set; } = 0.1;

    [Description("Caption file extension for DreamBooth folders.")]
    [Impact(KohyaImpact.Trajectory)]
    public string CaptionExtension { get; set; } = ".txt";

    [Description("Share of the images (0 to 0.5) held out for the validation loss, chosen by image content (SHA-256), so renaming files keeps the split; 0 holds none out.")]
    [Impact(KohyaImpact.Trajectory)]
    public double ValidationSplit { get; set; }

    [Description("A separate validation folder or dataset TOML (read with the same settings); empty: use ValidationSplit.")]
    [Impact(KohyaImpact.Cosmetic)]
    public string ValidationPath { get; set; } = "";

    public DataSection Clone() => (DataSection)MemberwiseClone();
}
