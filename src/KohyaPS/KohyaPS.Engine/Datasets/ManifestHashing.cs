using System.Globalization;
using System.Text;
using System.Text.Json;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// The settings an image trains with, whatever folder it sits in: its repeats, regularisation flag and the
/// augmentation of its subset. Folder names, class tokens and caption extensions are not part of it: they only
/// matter through the caption, which is compared on its own.
/// </summary>
public readonly record struct ImageTrainingSettings(
    int Repeats, bool IsReg, bool ShuffleCaption, int KeepTokens, bool FlipAug, bool RandomCrop, double CaptionDropoutRate)
{
    public static ImageTrainingSettings Of(KohyaDatasetImage image, IReadOnlyList<KohyaDatasetSubset> subsets)
    {
        var s = subsets[image.Subset];
        return new ImageTrainingSettings(image.Repeats, image.IsReg, s.ShuffleCaption, s.KeepTokens, s.FlipAug, s.RandomCrop, s.CaptionDropoutRate);
    }

    /// <summary>(name, value) pairs in a fixed order, for comparisons and the canonical text.</summary>
    public IEnumerable<(string Name, string Value)> Values()
    {
        yield return ("NumRepeats", Text(Repeats));
        yield return ("IsReg", Text(IsReg));
        yield return ("ShuffleCaption", Text(ShuffleCaption));
        yield return ("KeepTokens", Text(KeepTokens));
        yield return ("FlipAug", Text(FlipAug));
        yield return ("RandomCrop", Text(RandomCrop));
        yield return ("CaptionDropoutRate", Text(CaptionDropoutRate));
    }

    internal static string Text(object value) => value switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        null => "null",
        _ => value.ToString() ?? "",
    };
}

/// <summary>
/// The manifest's two hashes, each SHA-256 over a canonical text (one line per item, strings JSON-quoted,
/// numbers invariant): independent of the order files were listed in, the dataset's location and the time.
/// </summary>
/// <remarks>
/// <para><c>ManifestHash</c>: the format line, the preprocessing settings, every subset (all its fields) in
/// order, and every image (path, size, SHA-256, width, height, caption SHA-256, subset, repeats, regularisation
/// flag) sorted by path (ordinal), then subset.</para>
/// <para><c>ContentHash</c>: the format line, the preprocessing settings, and per image its size, SHA-256,
/// width, height, caption SHA-256 and <see cref="ImageTrainingSettings"/>, sorted by those values — no paths, no
/// folders: two datasets whose files were only renamed or moved between folders with the same settings have the
/// same content hash.</para>
/// </remarks>
public static class ManifestHashing
{
    public static string ManifestHash(KohyaDatasetPreprocessing preprocessing, IReadOnlyList<KohyaDatasetSubset> subsets,
        IReadOnlyList<KohyaDatasetImage> images)
    {
        var text = Header(preprocessing);
        for (int i = 0; i < subsets.Count; i++)
        {
            var s = subsets[i];
            text.Append("subset ").Append(Join(i, Quote(s.Directory), s.NumRepeats, s.IsReg, s.ClassTokens is null ? "null" : Quote(s.ClassTokens),
                Quote(s.CaptionExtension), s.ShuffleCaption, s.KeepTokens, s.FlipAug, s.RandomCrop, s.CaptionDropoutRate)).Append('\n');
        }
        var ordered = images.OrderBy(i => i.Path, StringComparer.Ordinal).ThenBy(i => i.Subset);
        foreach (var i in ordered)
        {
            text.Append("image ").Append(Join(Quote(i.Path), i.Size, i.Sha256, i.Width, i.Height, i.CaptionSha256, i.Subset, i.Repeats, i.IsReg))
                .Append('\n');
        }
        return FileHashing.HashText(text.ToString());
    }

    public static string ContentHash(KohyaDatasetPreprocessing preprocessing, IReadOnlyList<KohyaDatasetSubset> subsets,
        IReadOnlyList<KohyaDatasetImage> images)
    {
        var text = Header(preprocessing);
        var lines = images.Select(i =>
        {
            var settings = ImageTrainingSettings.Of(i, subsets);
            return "image " + Join(i.Sha256, i.Size, i.Width, i.Height, i.CaptionSha256) + " "
                + string.Join(" ", settings.Values().Select(v => v.Value));
        }).Order(StringComparer.Ordinal);
        foreach (string line in lines)
            text.Append(line).Append('\n');
        return FileHashing.HashText(text.ToString());
    }

    private static StringBuilder Header(KohyaDatasetPreprocessing p) =>
        new StringBuilder()
            .Append(KohyaDatasetManifest.FormatName).Append('/').Append(KohyaDatasetManifest.CurrentFormatVersion.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("preprocessing ").Append(Join(p.Width, p.Height, p.BatchSize, p.EnableBucket, p.MinBucketReso, p.MaxBucketReso, p.BucketResoSteps,
                p.BucketNoUpscale)).Append('\n');

    private static string Quote(string value) => JsonSerializer.Serialize(value);

    private static string Join(params object[] values) => string.Join(" ", values.Select(ImageTrainingSettings.Text));
}
