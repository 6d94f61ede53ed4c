using KohyaPS.Engine.Data;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Engine.Metrics;

/// <summary>The reference images FID compares samples against: a folder (searched recursively) or a dataset manifest.</summary>
public static class ReferenceImages
{
    /// <summary>
    /// Image paths of <paramref name="path"/>: a folder's images at any depth (hidden dot-files and dot-folders
    /// skipped), sorted ordinally by relative path; or the images a dataset manifest (.json, from
    /// Export-KohyaDatasetManifest or a checkpoint's dataset.json) lists, resolved against its source folder.
    /// Throws <see cref="MetricsErrors.ReferenceNotFound"/> or <see cref="MetricsErrors.ReferenceEmpty"/>.
    /// </summary>
    public static IReadOnlyList<string> Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        List<string> images;
        if (Directory.Exists(path))
        {
            string root = Path.GetFullPath(path);
            images = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .Where(f => ImageFiles.IsImage(f) && !IsHidden(root, f))
                .OrderBy(f => Path.GetRelativePath(root, f), StringComparer.Ordinal)
                .ToList();
        }
        else if (File.Exists(path))
        {
            var manifest = DatasetManifestJson.Load(path);
            string root = Directory.Exists(manifest.Source) ? manifest.Source : Path.GetDirectoryName(manifest.Source) ?? "";
            images = manifest.Images.Select(i => Path.GetFullPath(Path.Combine(root, i.Path))).ToList();
        }
        else
        {
            throw MetricsErrors.MissingReference(path);
        }
        if (images.Count == 0)
            throw MetricsErrors.EmptyReference(path);
        return images;
    }

    private static bool IsHidden(string root, string file) =>
        Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Any(p => p.StartsWith('.'));
}
