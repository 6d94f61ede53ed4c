namespace KohyaPS.Engine.Caching;

/// <summary>Counts since the cache was opened.</summary>
/// <param name="Hits">Lookups answered from a valid file.</param>
/// <param name="Misses">Lookups that had to encode (no file, or a damaged one).</param>
/// <param name="Rewritten">Of the misses, those whose file was damaged and has been replaced.</param>
/// <param name="Written">Entry files written.</param>
public sealed record LatentCacheStatistics(long Hits, long Misses, long Rewritten, long Written);

/// <summary>A damaged entry found and replaced by a fresh encode.</summary>
public sealed record LatentCacheRepair(int EntryIndex, bool Flipped, string Key, string Path, string Reason);

/// <summary>Progress of <see cref="LatentCache.Fill"/>: samples looked at out of the total, and how many of them were encoded.</summary>
public readonly record struct LatentCacheProgress(int Done, int Total, int Encoded);

/// <summary>What <see cref="LatentCache.Fill"/> did.</summary>
/// <param name="Total">Distinct samples of the dataset (entries, times two orientations under flip_aug, same keys once).</param>
/// <param name="Hits">Already cached and valid.</param>
/// <param name="Encoded">Encoded and written (including <paramref name="Rewritten"/>).</param>
/// <param name="Rewritten">Of those, the ones that replaced a damaged file.</param>
public sealed record LatentCacheFillResult(int Total, int Hits, int Encoded, int Rewritten, TimeSpan Elapsed);

/// <summary>What <see cref="LatentCache.Prune"/> deleted.</summary>
/// <param name="RemovedKeys">Keys of the entries that belong to no sample of the current dataset.</param>
/// <param name="RemovedTemps">Temporary files left by interrupted writes.</param>
/// <param name="BytesFreed">Size of everything removed.</param>
public sealed record LatentCachePruneResult(IReadOnlyList<string> RemovedKeys, IReadOnlyList<string> RemovedTemps, long BytesFreed);
