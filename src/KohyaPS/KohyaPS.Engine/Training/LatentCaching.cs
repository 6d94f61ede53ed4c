using KohyaPS.Contracts;
using KohyaPS.Engine.Caching;

namespace KohyaPS.Engine.Training;

/// <summary>
/// Data.CacheLatents at the start of a segment: opens the cache (the run's <c>cache/latents</c> or
/// Data.LatentCacheDirectory), drops what the dataset no longer has from the run's own cache, and encodes every image
/// not cached yet, with progress — so the steps read latents only.
/// </summary>
internal static class LatentCaching
{
    public const string RunFolder = "cache/latents";

    public static LatentCache Open(RunIdentity identity, KohyaHyperparameterSet hp, TrainingData data, TrainingModel model, ITrainingObserver observer,
        CancellationToken cancellation = default)
    {
        var vae = model.Vae ?? throw new ArgumentException("A pixel model has no latents to cache.", nameof(model));
        bool own = string.IsNullOrEmpty(hp.Data.LatentCacheDirectory);
        string directory = own ? Path.Combine(identity.RunDirectory, RunFolder) : Path.GetFullPath(hp.Data.LatentCacheDirectory);
        var cache = new LatentCache(directory, vae, data.Index, data.Buckets, LatentCache.ImageHashes(data.Index, data.Manifest), vaeSha256: model.VaeHash)
        {
            Repaired = r => observer.Warning($"Latent cache: '{r.Path}' was damaged ({r.Reason}); encoded again and rewritten."),
        };
        if (own)
        {
            var pruned = cache.Prune();
            if (pruned.RemovedKeys.Count > 0)
                observer.Verbose($"Latent cache: removed {pruned.RemovedKeys.Count} entries of images the dataset no longer has ({pruned.BytesFreed} bytes).");
        }
        var filled = cache.Fill(new Progress(identity.RunName, observer), cancellation);
        observer.Verbose($"Latent cache '{directory}': {filled.Hits} of {filled.Total} samples cached already, {filled.Encoded} encoded ({filled.Rewritten} replaced damaged files) in {filled.Elapsed.TotalSeconds:0.0} s.");
        return cache;
    }

    /// <summary>Fill's progress as the training progress bar's caching phase.</summary>
    private sealed class Progress(string run, ITrainingObserver observer) : IProgress<LatentCacheProgress>
    {
        public void Report(LatentCacheProgress value) => observer.Progress(new KohyaTrainingProgress
        {
            RunName = run,
            Step = value.Done,
            TargetStep = value.Total,
            Phase = KohyaTrainingProgress.CachingLatentsPhase,
        });
    }
}
