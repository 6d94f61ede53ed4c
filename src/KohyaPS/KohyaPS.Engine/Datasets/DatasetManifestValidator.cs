using KohyaPS.Contracts;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// Checks a deserialized manifest beyond its shape: values in range, references that resolve, caption hashes,
/// buckets, the summary and both hashes recomputed from the images.
/// </summary>
internal static class DatasetManifestValidator
{
    public static void Validate(KohyaDatasetManifest m, string source)
    {
        var p = m.Preprocessing;
        if (p.Width < 1 || p.Height < 1 || p.BatchSize < 1 || p.BucketResoSteps < 1 || p.MinBucketReso < 1 || p.MaxBucketReso < p.MinBucketReso)
            throw DatasetManifestErrors.Invalid(source, "preprocessing has a size, batch size or bucket setting out of range.");
        for (int s = 0; s < m.Subsets.Count; s++)
        {
            var subset = m.Subsets[s];
            if (subset.NumRepeats < 1 || subset.KeepTokens < 0 || !(subset.CaptionDropoutRate >= 0 && subset.CaptionDropoutRate <= 1))
                throw DatasetManifestErrors.Invalid(source, $"subsets[{s}] has repeats, keep tokens or a dropout rate out of range.");
        }

        var settings = DatasetManifestBuilder.Settings(p);
        var planned = Data.BucketPlanner.Plan(settings);
        var seen = new HashSet<(string, int)>();
        for (int i = 0; i < m.Images.Count; i++)
        {
            var image = m.Images[i];
            string at = $"images[{i}] ('{image.Path}')";
            if (image.Path.Length == 0 || image.Path.Contains('\\') || Path.IsPathRooted(image.Path))
                throw DatasetManifestErrors.Invalid(source, $"{at}: the path must be relative and '/' separated.");
            if (!seen.Add((image.Path, image.Subset)))
                throw DatasetManifestErrors.Invalid(source, $"{at} is listed twice.");
            if (image.Subset < 0 || image.Subset >= m.Subsets.Count)
                throw DatasetManifestErrors.Invalid(source, $"{at}: subset {image.Subset} does not exist.");
            if (image.Size < 0 || image.Width < 1 || image.Height < 1 || image.Repeats < 1)
                throw DatasetManifestErrors.Invalid(source, $"{at}: size, width, height or repeats out of range.");
            if (!IsSha256(image.Sha256) || !IsSha256(image.CaptionSha256))
                throw DatasetManifestErrors.Invalid(source, $"{at}: sha256 and captionSha256 must be 64 lower-case hex digits.");
            if (FileHashing.HashText(image.Caption) != image.CaptionSha256)
                throw DatasetManifestErrors.HashMismatch(source, $"caption hash of {at}", image.CaptionSha256, FileHashing.HashText(image.Caption));
            string bucket = DatasetManifestBuilder.BucketName(image.Width, image.Height, settings, planned);
            if (bucket != image.Bucket)
                throw DatasetManifestErrors.Invalid(source, $"{at}: bucket '{image.Bucket}' is not the one its size gets ('{bucket}').");
        }

        string manifestHash = ManifestHashing.ManifestHash(p, m.Subsets, m.Images);
        if (manifestHash != m.ManifestHash)
            throw DatasetManifestErrors.HashMismatch(source, "manifestHash", m.ManifestHash, manifestHash);
        string contentHash = ManifestHashing.ContentHash(p, m.Subsets, m.Images);
        if (contentHash != m.ContentHash)
            throw DatasetManifestErrors.HashMismatch(source, "contentHash", m.ContentHash, contentHash);
        CheckSummary(m, source);
    }

    private static void CheckSummary(KohyaDatasetManifest m, string source)
    {
        var expected = DatasetManifestBuilder.Summarize(m.Subsets, m.Images);
        var actual = m.Summary;
        bool same = expected.ImageCount == actual.ImageCount
            && expected.RegularizationImageCount == actual.RegularizationImageCount
            && expected.SamplesPerEpoch == actual.SamplesPerEpoch
            && expected.TotalBytes == actual.TotalBytes
            && SameMap(expected.Buckets, actual.Buckets)
            && expected.TagFrequency.Count == actual.TagFrequency.Count
            && expected.TagFrequency.All(kv => actual.TagFrequency.TryGetValue(kv.Key, out var a) && SameMap(kv.Value, a));
        if (!same)
            throw DatasetManifestErrors.Invalid(source, "the summary does not match the images.");
    }

    private static bool SameMap<T>(IReadOnlyDictionary<string, T> a, IReadOnlyDictionary<string, T> b) where T : IEquatable<T> =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v.Equals(kv.Value));

    private static bool IsSha256(string value) =>
        value.Length == 64 && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
