using System.Globalization;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// Lists what changed from a reference manifest to a difference manifest.
/// </summary>
/// <remarks>
/// <para>Images are matched in three rounds, each in path order among equals: same path and same SHA-256 (unchanged
/// content); then same SHA-256 under another path — Renamed, so two files that swapped names are two renames,
/// not two modifications; then same path with other bytes — Modified. What is still left is Removed (reference
/// only) or Added (difference only). A matched pair whose caption differs is also CaptionChanged.</para>
/// <para>For every matched pair, the <see cref="ImageTrainingSettings"/> are compared; each setting that differs
/// gives one PreprocessingChanged per subset folder ("Subset[10_cat].FlipAug"), as do the dataset-wide
/// preprocessing settings ("EnableBucket").</para>
/// <para>Finally the tag and bucket distributions are compared (<see cref="DistributionShift"/>); a distance above
/// its threshold adds a DistributionShift change ("TagFrequency", "BucketHistogram").</para>
/// </remarks>
public static class DatasetManifestComparer
{
    public static KohyaDatasetComparison Compare(KohyaDatasetManifest reference, KohyaDatasetManifest difference,
        double tagThreshold = DistributionShift.DefaultTagThreshold, double bucketThreshold = DistributionShift.DefaultBucketThreshold)
    {
        var changes = new List<KohyaDatasetChange>();
        changes.AddRange(PreprocessingChanges(reference.Preprocessing, difference.Preprocessing));
        var settingChanges = new SettingChanges();
        changes.AddRange(ImageChanges(reference, difference, settingChanges));
        changes.InsertRange(changes.Count(c => c.Change == KohyaDatasetChangeKind.PreprocessingChanged), settingChanges.ToChanges());

        double tagShift = DistributionShift.TagDistance(reference, difference);
        double bucketShift = DistributionShift.BucketDistance(reference, difference);
        if (tagShift > tagThreshold)
            changes.Add(Shift("TagFrequency", tagThreshold, tagShift));
        if (bucketShift > bucketThreshold)
            changes.Add(Shift("BucketHistogram", bucketThreshold, bucketShift));

        int Count(KohyaDatasetChangeKind kind) => changes.Count(c => c.Change == kind);
        return new KohyaDatasetComparison
        {
            ReferenceHash = reference.ManifestHash,
            DifferenceHash = difference.ManifestHash,
            Changes = changes,
            Added = Count(KohyaDatasetChangeKind.Added),
            Removed = Count(KohyaDatasetChangeKind.Removed),
            Modified = Count(KohyaDatasetChangeKind.Modified),
            CaptionChanged = Count(KohyaDatasetChangeKind.CaptionChanged),
            Renamed = Count(KohyaDatasetChangeKind.Renamed),
            PreprocessingChanged = Count(KohyaDatasetChangeKind.PreprocessingChanged),
            TagShift = tagShift,
            BucketShift = bucketShift,
            TagShiftThreshold = tagThreshold,
            BucketShiftThreshold = bucketThreshold,
            Summary = Describe(changes, tagShift, tagThreshold, bucketShift, bucketThreshold),
        };
    }

    /// <summary>"2 added, 1 caption changed; tag shift 0.123 (threshold 0.1)"; "identical" when there is no change.</summary>
    public static string Describe(IReadOnlyList<KohyaDatasetChange> changes, double tagShift, double tagThreshold, double bucketShift, double bucketThreshold)
    {
        var parts = new List<string>();
        foreach (var (kind, label) in Labels)
        {
            int n = changes.Count(c => c.Change == kind);
            if (n > 0)
                parts.Add($"{n} {label}");
        }
        if (parts.Count == 0)
            return "identical";
        string text = string.Join(", ", parts);
        var shifts = new List<string>();
        if (tagShift > tagThreshold)
            shifts.Add(Invariant($"tag shift {tagShift:0.###} (threshold {tagThreshold:0.###})"));
        if (bucketShift > bucketThreshold)
            shifts.Add(Invariant($"bucket shift {bucketShift:0.###} (threshold {bucketThreshold:0.###})"));
        return shifts.Count == 0 ? text : text + "; " + string.Join(", ", shifts);
    }

    private static readonly (KohyaDatasetChangeKind Kind, string Label)[] Labels =
    {
        (KohyaDatasetChangeKind.Added, "added"),
        (KohyaDatasetChangeKind.Removed, "removed"),
        (KohyaDatasetChangeKind.Modified, "modified"),
        (KohyaDatasetChangeKind.CaptionChanged, "caption changed"),
        (KohyaDatasetChangeKind.Renamed, "renamed"),
        (KohyaDatasetChangeKind.PreprocessingChanged, "preprocessing changed"),
    };

    private static IEnumerable<KohyaDatasetChange> PreprocessingChanges(KohyaDatasetPreprocessing a, KohyaDatasetPreprocessing b)
    {
        (string, object, object)[] settings =
        {
            ("Width", a.Width, b.Width), ("Height", a.Height, b.Height), ("BatchSize", a.BatchSize, b.BatchSize),
            ("EnableBucket", a.EnableBucket, b.EnableBucket), ("MinBucketReso", a.MinBucketReso, b.MinBucketReso),
            ("MaxBucketReso", a.MaxBucketReso, b.MaxBucketReso), ("BucketResoSteps", a.BucketResoSteps, b.BucketResoSteps),
            ("BucketNoUpscale", a.BucketNoUpscale, b.BucketNoUpscale),
        };
        foreach (var (name, before, after) in settings)
        {
            if (!Equals(before, after))
                yield return Setting(name, ImageTrainingSettings.Text(before), ImageTrainingSettings.Text(after));
        }
    }

    private static List<KohyaDatasetChange> ImageChanges(KohyaDatasetManifest reference, KohyaDatasetManifest difference, SettingChanges settings)
    {
        var changes = new List<KohyaDatasetChange>();
        void Pair(KohyaDatasetImage before, KohyaDatasetImage after, KohyaDatasetChangeKind? kind)
        {
            if (kind is { } k)
                changes.Add(Image(k, after.Path, k == KohyaDatasetChangeKind.Renamed ? before.Path : null, before.Sha256, after.Sha256));
            Matched(before, after, reference, difference, changes, settings);
        }

        // 1. Same path, same bytes. 2. Same bytes elsewhere: renamed (a swap of two names is two renames).
        // 3. Same path, other bytes: modified. 4. The rest was removed or added.
        var left = Ordered(reference.Images);
        var right = Ordered(difference.Images);
        Match(left, right, i => (i.Path, i.Sha256), (a, b) => Pair(a, b, null));
        Match(left, right, i => ("", i.Sha256), (a, b) => Pair(a, b, KohyaDatasetChangeKind.Renamed));
        Match(left, right, i => (i.Path, ""), (a, b) => Pair(a, b, KohyaDatasetChangeKind.Modified));
        foreach (var before in left)
            changes.Add(Image(KohyaDatasetChangeKind.Removed, before.Path, null, before.Sha256, null));
        foreach (var after in right)
            changes.Add(Image(KohyaDatasetChangeKind.Added, after.Path, null, null, after.Sha256));

        // Per image: what happened to the file (added, removed, modified, renamed) before what happened to its caption.
        return changes.OrderBy(c => c.Name, StringComparer.Ordinal).ThenBy(c => c.Change == KohyaDatasetChangeKind.CaptionChanged).ToList();
    }

    private static List<KohyaDatasetImage> Ordered(IEnumerable<KohyaDatasetImage> images) =>
        images.OrderBy(i => i.Path, StringComparer.Ordinal).ThenBy(i => i.Subset).ToList();

    /// <summary>Pairs images with equal keys (in path order among equals) and removes them from both lists.</summary>
    private static void Match(List<KohyaDatasetImage> left, List<KohyaDatasetImage> right, Func<KohyaDatasetImage, (string, string)> key,
        Action<KohyaDatasetImage, KohyaDatasetImage> pair)
    {
        var candidates = right.GroupBy(key).ToDictionary(g => g.Key, g => new Queue<KohyaDatasetImage>(g));
        var paired = new HashSet<KohyaDatasetImage>(ReferenceEqualityComparer.Instance);
        left.RemoveAll(before =>
        {
            if (!candidates.TryGetValue(key(before), out var queue) || queue.Count == 0)
                return false;
            var after = queue.Dequeue();
            paired.Add(after);
            pair(before, after);
            return true;
        });
        right.RemoveAll(paired.Contains);
    }

    private static void Matched(KohyaDatasetImage before, KohyaDatasetImage after, KohyaDatasetManifest reference, KohyaDatasetManifest difference,
        List<KohyaDatasetChange> changes, SettingChanges settings)
    {
        if (before.CaptionSha256 != after.CaptionSha256)
            changes.Add(Image(KohyaDatasetChangeKind.CaptionChanged, after.Path, null, before.Caption, after.Caption));
        var a = ImageTrainingSettings.Of(before, reference.Subsets).Values().ToList();
        var b = ImageTrainingSettings.Of(after, difference.Subsets).Values().ToList();
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i].Value != b[i].Value)
                settings.Add(difference.Subsets[after.Subset].Directory, a[i].Name, a[i].Value, b[i].Value);
        }
    }

    private static KohyaDatasetChange Image(KohyaDatasetChangeKind kind, string path, string? previous, string? reference, string? difference) =>
        new() { Change = kind, Name = path, PreviousName = previous, Reference = reference, Difference = difference };

    private static KohyaDatasetChange Setting(string name, string reference, string difference) =>
        new() { Change = KohyaDatasetChangeKind.PreprocessingChanged, Name = name, Reference = reference, Difference = difference };

    private static KohyaDatasetChange Shift(string measure, double threshold, double distance) => new()
    {
        Change = KohyaDatasetChangeKind.DistributionShift,
        Name = measure,
        Reference = Invariant($"{threshold:0.###}"),
        Difference = Invariant($"{distance:0.###}"),
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Per-image setting differences folded into one change per (subset folder, setting, values).</summary>
    private sealed class SettingChanges
    {
        private readonly SortedDictionary<string, KohyaDatasetChange> _changes = new(StringComparer.Ordinal);

        public void Add(string folder, string setting, string before, string after)
        {
            string name = $"Subset[{folder}].{setting}";
            _changes.TryAdd(name + "\n" + before + "\n" + after, Setting(name, before, after));
        }

        public IEnumerable<KohyaDatasetChange> ToChanges() => _changes.Values;
    }
}
