namespace KohyaPS.Engine.Caching;

/// <summary>The errors the latent cache raises, each with its id and what the user can do.</summary>
public static class LatentCacheErrors
{
    public const string RandomCropId = "LatentCacheRandomCrop";
    public const string DiskFullId = "LatentCacheDiskFull";
    public const string HashesMismatchId = "LatentCacheImageHashesMismatch";
    public const string WriteFailedId = "LatentCacheWriteFailed";

    /// <summary>A subset crops at a random position each step: there are no fixed pixels to cache.</summary>
    public static KohyaException RandomCrop(string imageDirectory) =>
        new(RandomCropId, KohyaErrorKind.InvalidOperation,
            $"The latent cache cannot be used with random_crop (subset '{imageDirectory}'): its images are cropped at a different position every step, so they have no single latent to cache.",
            target: imageDirectory)
        {
            RecommendedAction = "Turn random_crop off for that subset, or train without the latent cache.",
        };

    /// <summary>The content hashes given do not describe the indexed images one to one.</summary>
    public static KohyaException HashesMismatch(string detail) =>
        new(HashesMismatchId, KohyaErrorKind.InvalidData,
            $"The image hashes given to the latent cache do not match the dataset: {detail}")
        {
            RecommendedAction = "Build the dataset manifest from the same dataset index the trainer uses (New-KohyaDatasetManifest), then open the cache again.",
        };

    /// <summary>No room for a cache entry: nothing was left behind.</summary>
    public static KohyaException DiskFull(string directory, long needed, long free, Exception? inner) =>
        new(DiskFullId, KohyaErrorKind.ResourceUnavailable,
            $"Not enough disk space for a latent cache entry in '{directory}': it needs about {needed:N0} bytes and {free:N0} are free. No partial entry was left behind.",
            inner, directory)
        {
            RecommendedAction = "Free disk space, move the latent cache to another disk, or train without the latent cache.",
        };

    /// <summary>Writing or renaming an entry failed for another reason than a full disk.</summary>
    public static KohyaException WriteFailed(string path, Exception inner) =>
        new(WriteFailedId, KohyaErrorKind.WriteError,
            $"Could not write the latent cache entry '{path}': {inner.Message}", inner, path)
        {
            RecommendedAction = "Check that the cache folder is writable, or move the latent cache elsewhere.",
        };
}
