namespace KohyaPS.Engine.Data;

/// <summary>
/// The bucket of every entry of a <see cref="DatasetIndex"/>. Buckets are numbered in (width, height) order of the
/// resolutions actually used, so the numbering depends only on the image sizes and settings.
/// </summary>
public sealed class BucketAssignment
{
    private readonly BucketChoice[] _choices;
    private readonly int[] _bucketOf;

    public BucketAssignment(IReadOnlyList<BucketChoice> choices)
    {
        _choices = choices.ToArray();
        Buckets = _choices.Select(c => c.Bucket).Distinct().Order().ToList();
        var number = Buckets.Select((b, i) => (b, i)).ToDictionary(x => x.b, x => x.i);
        _bucketOf = _choices.Select(c => number[c.Bucket]).ToArray();
        var members = Buckets.Select(_ => new List<int>()).ToList();
        for (int i = 0; i < _bucketOf.Length; i++)
            members[_bucketOf[i]].Add(i);
        EntriesByBucket = members;
    }

    /// <summary>The resolutions in use, sorted by (width, height); a bucket's number is its position here.</summary>
    public IReadOnlyList<BucketResolution> Buckets { get; }

    /// <summary>Entry indices per bucket, ascending.</summary>
    public IReadOnlyList<IReadOnlyList<int>> EntriesByBucket { get; }

    public int EntryCount => _choices.Length;

    /// <summary>The bucket number of an entry.</summary>
    public int BucketOf(int entryIndex) => _bucketOf[entryIndex];

    /// <summary>The bucket, and the size to scale the entry's image to before cropping to the bucket.</summary>
    public BucketChoice ChoiceOf(int entryIndex) => _choices[entryIndex];
}
