namespace KohyaPS.Engine.Data;

/// <summary>
/// Turns a <see cref="DatasetDefinition"/> into a <see cref="DatasetIndex"/>: lists each subset's images, reads
/// their captions and their sizes (from the file header only; pixels are decoded at training time).
/// </summary>
public static class DatasetIndexer
{
    /// <summary>
    /// Builds the index. Throws <see cref="DatasetErrors.DatasetNotFound"/> for a missing image folder,
    /// <see cref="DatasetErrors.DatasetEmpty"/> when no subset has images, <see cref="DatasetErrors.CaptionMissing"/>
    /// for an image without caption file in a subset without class tokens, and
    /// <see cref="DatasetErrors.ImageUndecodable"/> for a file whose header cannot be read.
    /// </summary>
    public static DatasetIndex Build(DatasetDefinition definition, CancellationToken cancellationToken = default)
    {
        var warnings = new List<string>(definition.Warnings);
        var entries = new List<ImageEntry>();
        for (int s = 0; s < definition.Subsets.Count; s++)
        {
            var subset = definition.Subsets[s];
            if (!Directory.Exists(subset.ImageDirectory))
                throw DatasetErrors.NotFound(subset.ImageDirectory, "image folder");
            var files = ImageFiles.List(subset.ImageDirectory);
            if (files.Count == 0)
            {
                warnings.Add($"The image folder '{subset.ImageDirectory}' contains no images.");
                continue;
            }
            foreach (string file in files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                entries.Add(Entry(definition, s, subset, file, warnings));
            }
        }
        if (entries.Count == 0)
            throw DatasetErrors.Empty(definition.SourcePath, "");

        entries.Sort(static (a, b) =>
        {
            int c = string.CompareOrdinal(a.RelativePath, b.RelativePath);
            return c != 0 ? c : a.SubsetIndex.CompareTo(b.SubsetIndex);
        });
        return new DatasetIndex(definition, entries, warnings);
    }

    /// <summary>Reads the definition from a folder or a .toml file and indexes it.</summary>
    public static DatasetIndex Open(string path, DreamBoothFolderOptions? folderOptions = null, CancellationToken cancellationToken = default) =>
        Build(ReadDefinition(path, folderOptions), cancellationToken);

    /// <summary>Reads the definition from a folder (with <paramref name="folderOptions"/>) or a .toml file, without indexing.</summary>
    public static DatasetDefinition ReadDefinition(string path, DreamBoothFolderOptions? folderOptions = null)
    {
        if (!File.Exists(path))
            return DreamBoothFolderReader.Read(path, folderOptions);
        if (!string.Equals(Path.GetExtension(path), ".toml", StringComparison.OrdinalIgnoreCase))
            throw new KohyaException(DatasetErrors.UnsupportedDatasetOption, KohyaErrorKind.InvalidArgument,
                $"'{Path.GetFullPath(path)}' is a file but not a .toml dataset configuration; give a dataset folder or a kohya dataset .toml file.",
                target: path);
        return DatasetTomlReader.Read(path);
    }

    /// <summary>
    /// The caption for an image: the first line of <c>&lt;stem&gt;&lt;caption_extension&gt;</c>, trimmed, else the
    /// subset's class tokens; null when there is neither.
    /// </summary>
    public static string? ReadCaption(string imagePath, SubsetSettings settings, out bool emptyFile)
    {
        emptyFile = false;
        string captionPath = CaptionPath(imagePath, settings);
        if (File.Exists(captionPath))
        {
            using var reader = new StreamReader(captionPath, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            string caption = (reader.ReadLine() ?? "").Trim();
            emptyFile = caption.Length == 0;
            return caption;
        }
        return settings.ClassTokens;
    }

    public static string CaptionPath(string imagePath, SubsetSettings settings) =>
        Path.Combine(Path.GetDirectoryName(imagePath) ?? "", Path.GetFileNameWithoutExtension(imagePath) + settings.CaptionExtension);

    private static ImageEntry Entry(DatasetDefinition definition, int subsetIndex, DatasetSubset subset, string file, List<string> warnings)
    {
        string? caption = ReadCaption(file, subset.Settings, out bool emptyFile);
        if (caption is null)
            throw DatasetErrors.NoCaption(file, CaptionPath(file, subset.Settings));
        if (emptyFile)
            warnings.Add($"The caption file '{CaptionPath(file, subset.Settings)}' is empty; the image trains with an empty caption.");
        var (width, height) = ImageLoader.ReadSize(file);
        string relative = Path.GetRelativePath(definition.RootDirectory, file).Replace(Path.DirectorySeparatorChar, '/');
        return new ImageEntry(file, relative, caption, subsetIndex, subset.Settings.NumRepeats, subset.Settings.IsReg, width, height);
    }
}
