namespace KohyaPS.Engine.Data;

/// <summary>Which files are dataset images, and listing them in a stable order.</summary>
public static class ImageFiles
{
    /// <summary>Extensions read as images, compared case-insensitively (kohya's list).</summary>
    public static IReadOnlyList<string> Extensions { get; } = new[] { ".png", ".jpg", ".jpeg", ".webp", ".bmp" };

    public static bool IsImage(string path)
    {
        string ext = Path.GetExtension(path);
        return Extensions.Any(e => string.Equals(e, ext, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The images directly inside <paramref name="directory"/> (not in subfolders), hidden dot-files excluded,
    /// sorted by file name (ordinal) so the result does not depend on the file system's enumeration order.
    /// </summary>
    public static IReadOnlyList<string> List(string directory) =>
        Directory.EnumerateFiles(directory)
            .Where(f => IsImage(f) && !Path.GetFileName(f).StartsWith('.'))
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
            .ToList();
}
