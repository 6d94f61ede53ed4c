using KohyaPS.Contracts;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// How far the training distribution moved between two manifests, as total-variation distance
/// TV(P, Q) = ½ Σ |P(x) − Q(x)|: 0 for the same distribution, 1 for disjoint ones; "this share of the
/// probability mass is somewhere else now". Both distributions weight each image by its repeats, i.e. they
/// describe what one epoch shows the model.
/// </summary>
/// <remarks>
/// Tags: P(tag) = (repeats-weighted occurrences of the tag) / (repeats-weighted occurrences of all tags), with
/// tags as <see cref="CaptionTags.Split"/> gives them. Buckets: P(bucket) = samples per epoch in the bucket /
/// samples per epoch. The default thresholds are 0.10 for both: adding one new, differently tagged image per nine
/// existing ones moves about 0.10 of the mass; retouching a few captions or a handful of crops stays well below.
/// </remarks>
public static class DistributionShift
{
    public const double DefaultTagThreshold = 0.10;
    public const double DefaultBucketThreshold = 0.10;

    public static double TagDistance(KohyaDatasetManifest reference, KohyaDatasetManifest difference) =>
        TotalVariation(TagWeights(reference), TagWeights(difference));

    public static double BucketDistance(KohyaDatasetManifest reference, KohyaDatasetManifest difference) =>
        TotalVariation(BucketWeights(reference), BucketWeights(difference));

    /// <summary>½ Σ |p − q| over the union of keys, each side normalised to sum 1; 0 when both are empty, 1 when only one is.</summary>
    public static double TotalVariation(IReadOnlyDictionary<string, double> p, IReadOnlyDictionary<string, double> q)
    {
        double sp = p.Values.Sum(), sq = q.Values.Sum();
        if (sp <= 0 || sq <= 0)
            return sp <= 0 && sq <= 0 ? 0 : 1;
        double sum = 0;
        foreach (var key in p.Keys.Union(q.Keys, StringComparer.Ordinal))
            sum += Math.Abs(p.GetValueOrDefault(key) / sp - q.GetValueOrDefault(key) / sq);
        return Math.Clamp(sum / 2, 0, 1);
    }

    private static Dictionary<string, double> TagWeights(KohyaDatasetManifest manifest)
    {
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var image in manifest.Images)
            foreach (string tag in CaptionTags.Split(image.Caption))
                weights[tag] = weights.GetValueOrDefault(tag) + image.Repeats;
        return weights;
    }

    private static Dictionary<string, double> BucketWeights(KohyaDatasetManifest manifest)
    {
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var image in manifest.Images)
            weights[image.Bucket] = weights.GetValueOrDefault(image.Bucket) + image.Repeats;
        return weights;
    }
}
