using System.Diagnostics;
using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Models.Vae;
using KohyaPS.Engine.Networks;
using TorchSharp;

namespace KohyaPS.Engine.Caching;

/// <summary>
/// The VAE latent distribution (mean, log-variance) of every training sample, encoded once and kept on disk under a
/// <see cref="LatentCacheKey"/>. A sample is an (entry, flipped) pair; its pixels are
/// <see cref="BatchBuilder.SamplePixels"/>'s and its encode is <see cref="LatentEncoder.Encode"/>'s, so what the cache
/// returns is bitwise what the uncached path computes. A damaged entry is never fatal: it is re-encoded, rewritten
/// and reported through <see cref="Repaired"/>. Lookups may run on several threads at once; encodes take turns.
/// </summary>
public sealed class LatentCache
{
    /// <summary>A temporary file older than this is an interrupted write; a younger one may be another writer's.</summary>
    public static readonly TimeSpan StaleTempAge = TimeSpan.FromMinutes(10);

    private readonly AutoencoderKL _vae;
    private readonly DatasetIndex _index;
    private readonly BucketAssignment _buckets;
    private readonly string[] _imageSha256;
    private readonly LatentCacheStore _store;
    private readonly object _encodeLock = new();
    private long _hits, _misses, _rewritten, _written;

    /// <summary>
    /// Opens (creating when needed) the cache in <paramref name="directory"/> for the samples of
    /// <paramref name="index"/> under <paramref name="buckets"/>, encoded by <paramref name="vae"/>. Open it after
    /// setting torch's thread count: the key records it. Temporary files of interrupted writes are removed here
    /// (<see cref="CleanedTemps"/>).
    /// </summary>
    /// <param name="imageSha256">The SHA-256 of each entry's file, in index order (see <see cref="ImageHashes"/>).</param>
    /// <param name="freeBytes">Free bytes on a folder's volume; tests inject a full disk.</param>
    /// <param name="vaeSha256">The VAE's weights hash when the caller has it already (<see cref="LoraBaseHash.Compute"/> of its state dict); computed here otherwise.</param>
    /// <exception cref="KohyaException"><see cref="LatentCacheErrors.RandomCropId"/>, <see cref="LatentCacheErrors.HashesMismatchId"/>.</exception>
    public LatentCache(string directory, AutoencoderKL vae, DatasetIndex index, BucketAssignment buckets, IReadOnlyList<string> imageSha256,
        Func<string, long>? freeBytes = null, string? vaeSha256 = null)
    {
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(buckets);
        ArgumentNullException.ThrowIfNull(imageSha256);
        var cropping = index.Entries.Select(e => e.SubsetIndex).Distinct()
            .Select(s => index.Definition.Subsets[s]).FirstOrDefault(s => s.Settings.RandomCrop);
        if (cropping is not null)
            throw LatentCacheErrors.RandomCrop(cropping.ImageDirectory);
        if (buckets.EntryCount != index.Count)
            throw new ArgumentException($"The bucket assignment covers {buckets.EntryCount} entries, the index {index.Count}.", nameof(buckets));
        if (imageSha256.Count != index.Count)
            throw LatentCacheErrors.HashesMismatch($"{imageSha256.Count} hashes for {index.Count} images.");
        for (int i = 0; i < imageSha256.Count; i++)
        {
            if (!IsSha256(imageSha256[i]))
                throw LatentCacheErrors.HashesMismatch($"the hash of '{index[i].RelativePath}' is '{imageSha256[i]}', not 64 lower-case hex digits.");
        }
        _vae = vae;
        _index = index;
        _buckets = buckets;
        _imageSha256 = imageSha256.ToArray();
        _store = new LatentCacheStore(directory, freeBytes);
        if (vaeSha256 is null)
            using (torch.NewDisposeScope())
                vaeSha256 = LoraBaseHash.Compute(vae.state_dict());
        VaeSha256 = vaeSha256;
        Threads = torch.get_num_threads();
        CleanedTemps = _store.CleanTemps(StaleTempAge).Removed;
    }

    /// <summary>The cache folder (absolute).</summary>
    public string Directory => _store.Directory;

    /// <summary>The VAE's identity in every key: SHA-256 over its tensors' names, dtypes, shapes and bytes.</summary>
    public string VaeSha256 { get; }

    /// <summary>torch's intra-op thread count when the cache was opened (it changes the encoder's floats).</summary>
    public int Threads { get; }

    /// <summary>Temporary files of interrupted writes removed when the cache was opened.</summary>
    public IReadOnlyList<string> CleanedTemps { get; }

    /// <summary>Hears every damaged entry that was found and rewritten (called on the thread that found it).</summary>
    public Action<LatentCacheRepair>? Repaired { get; init; }

    public LatentCacheStatistics Statistics =>
        new(Interlocked.Read(ref _hits), Interlocked.Read(ref _misses), Interlocked.Read(ref _rewritten), Interlocked.Read(ref _written));

    /// <summary>The SHA-256 of each entry's file from a manifest of the same dataset, in index order.</summary>
    /// <exception cref="KohyaException"><see cref="LatentCacheErrors.HashesMismatchId"/> when the manifest lacks an entry.</exception>
    public static IReadOnlyList<string> ImageHashes(DatasetIndex index, KohyaDatasetManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(manifest);
        var byImage = new Dictionary<(string, int), string>();
        foreach (var image in manifest.Images)
            byImage[(image.Path, image.Subset)] = image.Sha256;
        return index.Entries.Select(e => byImage.TryGetValue((e.RelativePath, e.SubsetIndex), out var sha)
                ? sha
                : throw LatentCacheErrors.HashesMismatch($"the manifest has no image '{e.RelativePath}' in subset {e.SubsetIndex}."))
            .ToArray();
    }

    /// <summary>The key of one sample.</summary>
    public LatentCacheKey KeyOf(int entryIndex, bool flipped)
    {
        var choice = _buckets.ChoiceOf(entryIndex);
        return new LatentCacheKey(LatentCacheKey.CurrentFormatVersion, _imageSha256[entryIndex], choice.ResizedWidth, choice.ResizedHeight,
            choice.Bucket.Width, choice.Bucket.Height, flipped, VaeSha256, Threads);
    }

    /// <summary>Every sample training can ask for: each entry unflipped, and flipped too when its subset has flip_aug.</summary>
    public IReadOnlyList<(int EntryIndex, bool Flipped)> Samples()
    {
        var samples = new List<(int, bool)>(_index.Count);
        for (int i = 0; i < _index.Count; i++)
        {
            samples.Add((i, false));
            if (_index.SubsetOf(i).FlipAug)
                samples.Add((i, true));
        }
        return samples;
    }

    /// <summary>The keys of <see cref="Samples"/>: what <see cref="Prune"/> keeps.</summary>
    public IReadOnlySet<string> CurrentKeys() => Samples().Select(s => KeyOf(s.EntryIndex, s.Flipped).Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The latent distribution of one sample — float32 [1, C, H/f, W/f] mean and log-variance on the CPU, owned by
    /// the caller — from the cache when it holds a valid entry, else encoded now and written.
    /// </summary>
    /// <exception cref="KohyaException"><see cref="LatentCacheErrors.DiskFullId"/>, <see cref="LatentCacheErrors.WriteFailedId"/>,
    /// or the image loader's errors when the image cannot be read.</exception>
    public LatentDistribution GetOrEncode(int entryIndex, bool flipped) => Lookup(entryIndex, flipped, out _);

    private enum Outcome { Hit, Encoded, Rewritten }

    private LatentDistribution Lookup(int entryIndex, bool flipped, out Outcome outcome)
    {
        var key = KeyOf(entryIndex, flipped);
        var state = _store.TryRead(key, ShapeOf(key), out var cached, out string reason);
        if (state == LatentEntryState.Valid)
        {
            Interlocked.Increment(ref _hits);
            outcome = Outcome.Hit;
            return cached!;
        }
        Interlocked.Increment(ref _misses);
        var latents = Encode(key, entryIndex, flipped);
        outcome = Outcome.Encoded;
        if (state == LatentEntryState.Damaged)
        {
            Interlocked.Increment(ref _rewritten);
            outcome = Outcome.Rewritten;
            Repaired?.Invoke(new LatentCacheRepair(entryIndex, flipped, key.Value, _store.PathOf(key.Value), reason));
        }
        return latents;
    }

    private LatentDistribution Encode(LatentCacheKey key, int entryIndex, bool flipped)
    {
        lock (_encodeLock)
        {
            using var scope = torch.NewDisposeScope();
            using var pixels = BatchBuilder.SamplePixels(_index, _buckets, entryIndex, flipped);
            var latents = LatentEncoder.Encode(_vae, pixels);
            _store.Write(key, latents);
            Interlocked.Increment(ref _written);
            latents.Mean.MoveToOuterDisposeScope();
            latents.LogVar.MoveToOuterDisposeScope();
            return latents;
        }
    }

    private long[] ShapeOf(LatentCacheKey key)
    {
        int f = _vae.Config.DownsampleFactor;
        return new long[] { 1, _vae.Config.LatentChannels, key.BucketHeight / f, key.BucketWidth / f };
    }

    /// <summary>
    /// Makes sure every sample of the dataset (<see cref="Samples"/>) has a valid entry, encoding those that do not;
    /// reports (done, total) after each. Samples sharing a key are looked at once. A second fill of an unchanged
    /// dataset reads every entry and writes nothing.
    /// </summary>
    public LatentCacheFillResult Fill(IProgress<LatentCacheProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = Samples().Where(s => seen.Add(KeyOf(s.EntryIndex, s.Flipped).Value)).ToList();
        int hits = 0, encoded = 0, rewritten = 0;
        progress?.Report(new LatentCacheProgress(0, todo.Count, 0));
        for (int i = 0; i < todo.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var scope = torch.NewDisposeScope())
            using (Lookup(todo[i].EntryIndex, todo[i].Flipped, out var outcome))
            {
                if (outcome == Outcome.Hit) hits++;
                else encoded++;
                if (outcome == Outcome.Rewritten) rewritten++;
            }
            progress?.Report(new LatentCacheProgress(i + 1, todo.Count, encoded));
        }
        return new LatentCacheFillResult(todo.Count, hits, encoded, rewritten, watch.Elapsed);
    }

    /// <summary>
    /// Deletes every entry whose key is not one of <see cref="CurrentKeys"/> (its image, settings or VAE changed) and
    /// every stale temporary file; files that are not cache entries are left alone.
    /// </summary>
    public LatentCachePruneResult Prune()
    {
        var keep = CurrentKeys();
        var (entries, _) = _store.Scan();
        var removed = new List<string>();
        long bytes = 0;
        foreach (var (key, path) in entries)
        {
            if (keep.Contains(key))
                continue;
            long length = LatentCacheStore.LengthOf(path);
            if (LatentCacheStore.TryDelete(path))
            {
                removed.Add(key);
                bytes += length;
            }
        }
        var (temps, tempBytes) = _store.CleanTemps(StaleTempAge);
        return new LatentCachePruneResult(removed, temps, bytes + tempBytes);
    }

    private static bool IsSha256(string? s) => s is { Length: 64 } && LatentCacheStore.IsLowerHex(s);
}
