using KohyaPS.Contracts;
using KohyaPS.Engine.Data;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// Test-KohyaDataset's checks: every file of every subset folder is looked at (decoded in full, hashed) and
/// every problem becomes a finding, instead of training stopping at the first one.
/// </summary>
/// <remarks>
/// Findings (error ids): ImageUndecodable (Error: training stops on it), ZeroByteFile (Error), CaptionMissing
/// (Error: no caption file and no class tokens), CaptionEmpty (Warning: trains with an empty caption),
/// DuplicateImage (Warning: same SHA-256 as another image, which trains twice as often), ImageTooSmall (Error:
/// with bucket_no_upscale, smaller than one bucket step), ImageBelowSmallestBucket (Warning: smaller than the
/// smallest bucket — min_bucket_reso on either side with buckets, the resolution without — so it is enlarged),
/// UnsupportedImageFormat (Warning: a picture format training does not read, such as .gif or .tiff; it is
/// silently left out), DatasetNotFound (Error: a subset folder that does not exist), SubsetEmpty (Warning).
/// </remarks>
public static class DatasetInspector
{
    public const string CheckingActivity = "Checking images";

    /// <summary>Picture formats kohya and KohyaPS do not read; found in image folders they are reported, not ignored silently.</summary>
    public static IReadOnlyList<string> UnsupportedExtensions { get; } = new[]
    {
        ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".jfif", ".ico", ".svg", ".psd", ".dng", ".cr2", ".nef", ".arw",
    };

    public static IReadOnlyList<KohyaDatasetFinding> Inspect(DatasetDefinition definition, IProgress<KohyaDatasetProgress>? progress = null,
        int parallelism = 0, CancellationToken cancellation = default)
    {
        var findings = new List<KohyaDatasetFinding>();
        var images = new List<(string Path, SubsetSettings Settings)>();
        foreach (var subset in definition.Subsets)
        {
            string folder = Relative(definition, subset.ImageDirectory);
            if (!Directory.Exists(subset.ImageDirectory))
            {
                findings.Add(Finding("DatasetNotFound", KohyaFindingSeverity.Error, folder, "The image folder does not exist."));
                continue;
            }
            var files = ImageFiles.List(subset.ImageDirectory);
            if (files.Count == 0)
                findings.Add(Finding("SubsetEmpty", KohyaFindingSeverity.Warning, folder, "The image folder holds no images."));
            images.AddRange(files.Select(f => (f, subset.Settings)));
            foreach (string other in Directory.EnumerateFiles(subset.ImageDirectory).Where(IsUnsupportedPicture).Order(StringComparer.Ordinal))
                findings.Add(Finding("UnsupportedImageFormat", KohyaFindingSeverity.Warning, Relative(definition, other),
                    $"'{Path.GetExtension(other)}' images are not read by training (only {string.Join(", ", ImageFiles.Extensions)}); this one is left out."));
        }

        var results = new FileCheck[images.Count];
        var meter = new DatasetProgressMeter(progress, CheckingActivity, images.Count, images.Sum(i => new FileInfo(i.Path).Length));
        FileHashing.ForEach(images.Count, parallelism, cancellation, i =>
        {
            results[i] = Check(definition, images[i].Path, images[i].Settings, meter);
            meter.FileDone();
        });
        meter.Complete();
        foreach (var r in results)
            findings.AddRange(r.Findings);
        findings.AddRange(Duplicates(results));
        return findings.OrderBy(f => f.Path, StringComparer.Ordinal).ThenBy(f => f.ErrorId, StringComparer.Ordinal).ToList();
    }

    private sealed record FileCheck(string Path, string? Sha256, List<KohyaDatasetFinding> Findings);

    private static FileCheck Check(DatasetDefinition definition, string file, SubsetSettings settings, DatasetProgressMeter meter)
    {
        string path = Relative(definition, file);
        var findings = new List<KohyaDatasetFinding>();
        CheckCaption(definition, file, path, settings, findings);
        long length = new FileInfo(file).Length;
        if (length == 0)
        {
            findings.Add(Finding("ZeroByteFile", KohyaFindingSeverity.Error, path, "The image file is empty (0 bytes)."));
            return new FileCheck(path, null, findings);
        }
        string sha = FileHashing.Hash(file, meter.AddBytes).Sha256;
        try
        {
            var image = ImageLoader.DecodeRgb(file);
            CheckSize(definition.Settings, image.Width, image.Height, path, findings);
        }
        catch (KohyaException ex) when (ex.ErrorId == DatasetErrors.ImageUndecodable)
        {
            findings.Add(Finding(DatasetErrors.ImageUndecodable, KohyaFindingSeverity.Error, path, ex.Message));
        }
        return new FileCheck(path, sha, findings);
    }

    private static void CheckCaption(DatasetDefinition definition, string file, string path, SubsetSettings settings, List<KohyaDatasetFinding> findings)
    {
        string? caption = DatasetIndexer.ReadCaption(file, settings, out bool emptyFile);
        string captionPath = Relative(definition, DatasetIndexer.CaptionPath(file, settings));
        if (caption is null)
            findings.Add(Finding(DatasetErrors.CaptionMissing, KohyaFindingSeverity.Error, path,
                $"No caption file '{captionPath}' and the subset has no class tokens: training refuses the dataset."));
        else if (emptyFile)
            findings.Add(Finding("CaptionEmpty", KohyaFindingSeverity.Warning, path, $"The caption file '{captionPath}' is empty: the image trains with an empty caption.", captionPath));
    }

    private static void CheckSize(DatasetSettings s, int width, int height, string path, List<KohyaDatasetFinding> findings)
    {
        if (s.EnableBucket && s.BucketNoUpscale)
        {
            if (width < s.BucketResoSteps || height < s.BucketResoSteps)
                findings.Add(Finding("ImageTooSmall", KohyaFindingSeverity.Error, path,
                    $"{width}×{height} is smaller than one bucket step ({s.BucketResoSteps} px) and bucket_no_upscale keeps it from being enlarged: training refuses it."));
            return;
        }
        var (minW, minH) = s.EnableBucket ? (s.MinBucketReso, s.MinBucketReso) : (s.Width, s.Height);
        if (width < minW || height < minH)
            findings.Add(Finding("ImageBelowSmallestBucket", KohyaFindingSeverity.Warning, path,
                $"{width}×{height} is below the smallest bucket ({minW}×{minH}): it is enlarged for training and will look soft."));
    }

    private static IEnumerable<KohyaDatasetFinding> Duplicates(IEnumerable<FileCheck> results) =>
        results.Where(r => r.Sha256 is not null)
            .GroupBy(r => r.Sha256!, StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .SelectMany(g =>
            {
                var paths = g.Select(r => r.Path).Order(StringComparer.Ordinal).ToList();
                return paths.Skip(1).Select(p => Finding("DuplicateImage", KohyaFindingSeverity.Warning, p,
                    $"The same bytes as '{paths[0]}': the picture trains {paths.Count} times as often as the others.", paths[0]));
            });

    private static bool IsUnsupportedPicture(string file) =>
        !Path.GetFileName(file).StartsWith('.')
        && UnsupportedExtensions.Contains(Path.GetExtension(file), StringComparer.OrdinalIgnoreCase);

    private static string Relative(DatasetDefinition definition, string path) =>
        Path.GetRelativePath(definition.RootDirectory, path).Replace(Path.DirectorySeparatorChar, '/');

    private static KohyaDatasetFinding Finding(string id, KohyaFindingSeverity severity, string path, string message, string? related = null) =>
        new() { ErrorId = id, Severity = severity, Path = path, Message = message, RelatedPath = related };
}
