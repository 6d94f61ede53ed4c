namespace KohyaPS.Engine.Data;

/// <summary>One batch of an epoch: entry indices that all share one bucket.</summary>
/// <param name="Epoch">The epoch this batch belongs to.</param>
/// <param name="BatchIndex">Position of the batch in its epoch, from 0; with the epoch this is a position in the data.</param>
/// <param name="BucketIndex">The bucket number in <see cref="BucketAssignment.Buckets"/>.</param>
/// <param name="Resolution">The bucket's resolution, the size of every image of the batch.</param>
/// <param name="Items">Entry indices into the <see cref="DatasetIndex"/>; an entry with repeats may appear more than once.</param>
public sealed record BatchPlan(int Epoch, int BatchIndex, int BucketIndex, BucketResolution Resolution, IReadOnlyList<int> Items);

/// <summary>
/// The order in which samples are trained, as a pure function of (dataset, buckets, batch size, seed, epoch).
/// </summary>
/// <remarks>
/// <para>Algorithm (kohya's shape): every entry is put into its bucket <c>repeats</c> times, in index order;
/// each bucket's list is shuffled with its own stream (seed, epoch, bucket number); each bucket is cut into
/// batches of <c>batchSize</c> (the last batch of a bucket may be smaller); the batches of all buckets, listed in
/// bucket order, are shuffled with another stream (seed, epoch). The random numbers come from
/// <see cref="DeterministicRandom"/>, which is defined in this code base, so the order never changes with a .NET
/// version.</para>
/// <para>What the order depends on: the index order, the images' repeats, and their buckets (i.e. their pixel
/// sizes and the bucket settings). Training passes the index in content order (Datasets.ContentOrder: by image
/// and caption hash), so renaming or moving files leaves the order as it was, while adding, removing, retouching
/// an image or editing a caption changes it. It never depends on file times or enumeration order.</para>
/// <para>Because nothing else feeds it, the position in the data is just (epoch, batch index): a resumed run
/// recomputes the epoch's plan and continues at the next batch.</para>
/// </remarks>
public static class DataOrder
{
    /// <summary>The batches of one epoch, in training order.</summary>
    public static IReadOnlyList<BatchPlan> Epoch(DatasetIndex index, BucketAssignment buckets, int batchSize, long seed, int epoch)
    {
        Check(index, buckets, batchSize);
        var batches = new List<(int Bucket, int[] Items)>();
        for (int b = 0; b < buckets.Buckets.Count; b++)
        {
            var items = new List<int>();
            foreach (int entry in buckets.EntriesByBucket[b])
            {
                for (int r = 0; r < index[entry].Repeats; r++)
                    items.Add(entry);
            }
            DeterministicRandom.Derive(seed, DeterministicRandom.Domains.BucketShuffle, epoch, b).Shuffle(items);
            for (int start = 0; start < items.Count; start += batchSize)
                batches.Add((b, items.GetRange(start, Math.Min(batchSize, items.Count - start)).ToArray()));
        }
        DeterministicRandom.Derive(seed, DeterministicRandom.Domains.BatchShuffle, epoch).Shuffle(batches);

        var plans = new BatchPlan[batches.Count];
        for (int i = 0; i < plans.Length; i++)
        {
            var (bucket, items) = batches[i];
            plans[i] = new BatchPlan(epoch, i, bucket, buckets.Buckets[bucket], items);
        }
        return plans;
    }

    /// <summary>Batches per epoch: the sum over buckets of ⌈(images × repeats in the bucket) / batch size⌉. Independent of the seed.</summary>
    public static int StepsPerEpoch(DatasetIndex index, BucketAssignment buckets, int batchSize)
    {
        Check(index, buckets, batchSize);
        long steps = 0;
        foreach (var members in buckets.EntriesByBucket)
        {
            long samples = members.Sum(e => (long)index[e].Repeats);
            steps += (samples + batchSize - 1) / batchSize;
        }
        return checked((int)steps);
    }

    private static void Check(DatasetIndex index, BucketAssignment buckets, int batchSize)
    {
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        if (buckets.EntryCount != index.Count)
            throw new ArgumentException($"The bucket assignment covers {buckets.EntryCount} entries but the index has {index.Count}.", nameof(buckets));
    }
}
