using System.Globalization;

namespace KohyaPS.Engine.Data;

/// <summary>Options for reading a kohya DreamBooth folder; what the folder names do not say.</summary>
public sealed record DreamBoothFolderOptions
{
    /// <summary>Dataset-wide settings (kohya takes these from the command line when no TOML is used).</summary>
    public DatasetSettings Dataset { get; init; } = new();

    /// <summary>
    /// Settings for every subset. <see cref="SubsetSettings.NumRepeats"/>, <see cref="SubsetSettings.ClassTokens"/>
    /// and <see cref="SubsetSettings.IsReg"/> are replaced by what each folder's name and role say.
    /// </summary>
    public SubsetSettings Subset { get; init; } = new();

    /// <summary>Optional folder of regularisation subfolders (kohya <c>reg_data_dir</c>), same naming rules.</summary>
    public string? RegularizationPath { get; init; }
}

/// <summary>
/// Reads a kohya DreamBooth folder: the given folder holds subfolders named <c>&lt;repeats&gt;_&lt;class tokens&gt;</c>
/// (<c>10_sks cat</c>); each is one subset. The given folder may also be such a subfolder itself.
/// Subfolders without a repeats prefix are skipped with a warning, as kohya does.
/// </summary>
public static class DreamBoothFolderReader
{
    /// <summary>Reads <paramref name="path"/>; throws <see cref="DatasetErrors.DatasetNotFound"/> or <see cref="DatasetErrors.DatasetEmpty"/>.</summary>
    public static DatasetDefinition Read(string path, DreamBoothFolderOptions? options = null)
    {
        options ??= new DreamBoothFolderOptions();
        string root = Path.GetFullPath(path);
        if (!Directory.Exists(root))
            throw DatasetErrors.NotFound(root, "dataset folder");

        const string source = "folder options";
        options.Dataset.Validate(source, "dataset");
        options.Subset.Validate(source, "subset");

        var warnings = new List<string>();
        var subsets = new List<DatasetSubset>();
        string relativeRoot = root;

        var found = SubsetFolders(root, isReg: false, options.Subset, warnings);
        if (found.Count == 0 && TryParseFolderName(Path.GetFileName(TrimEnd(root)), out int repeats, out string? tokens))
        {
            // The path is itself a '10_sks cat' folder: one subset; paths stay relative to its parent.
            found.Add(new DatasetSubset(root, With(options.Subset, repeats, tokens, isReg: false)));
            warnings.Clear();
            relativeRoot = Path.GetDirectoryName(TrimEnd(root)) ?? root;
        }
        else if (found.Count == 0)
        {
            throw DatasetErrors.Empty(root,
                "It has no '<repeats>_<class tokens>' subfolder (such as '10_sks cat') and is not one itself."
                + (warnings.Count > 0 ? " " + string.Join(" ", warnings) : ""));
        }
        else
        {
            int loose = ImageFiles.List(root).Count;
            if (loose > 0)
                warnings.Add($"{loose} image(s) directly in '{root}' were ignored: only '<repeats>_<class tokens>' subfolders are read.");
        }
        subsets.AddRange(found);

        if (options.RegularizationPath is { } regPath)
        {
            string regRoot = Path.GetFullPath(regPath);
            if (!Directory.Exists(regRoot))
                throw DatasetErrors.NotFound(regRoot, "regularisation folder");
            var reg = SubsetFolders(regRoot, isReg: true, options.Subset, warnings);
            if (reg.Count == 0)
                warnings.Add($"The regularisation folder '{regRoot}' has no '<repeats>_<class tokens>' subfolder; no regularisation images are used.");
            subsets.AddRange(reg);
        }

        return new DatasetDefinition(root, DatasetSourceKind.DreamBoothFolder, relativeRoot, options.Dataset, subsets, warnings);
    }

    /// <summary>
    /// Parses a kohya folder name: digits, then optionally '_' and the class tokens (everything after the first
    /// '_', spaces and further underscores included). Repeats must be at least 1.
    /// </summary>
    public static bool TryParseFolderName(string name, out int repeats, out string? classTokens)
    {
        repeats = 0;
        classTokens = null;
        int underscore = name.IndexOf('_', StringComparison.Ordinal);
        string head = underscore < 0 ? name : name[..underscore];
        if (head.Length == 0 || !head.All(char.IsAsciiDigit)
            || !int.TryParse(head, NumberStyles.None, CultureInfo.InvariantCulture, out repeats) || repeats < 1)
        {
            repeats = 0;
            return false;
        }
        string tail = underscore < 0 ? "" : name[(underscore + 1)..];
        classTokens = tail.Length == 0 ? null : tail;
        return true;
    }

    private static List<DatasetSubset> SubsetFolders(string parent, bool isReg, SubsetSettings template, List<string> warnings)
    {
        var result = new List<DatasetSubset>();
        var dirs = Directory.EnumerateDirectories(parent)
            .Select(d => (Path: d, Name: Path.GetFileName(d)))
            .Where(d => !d.Name.StartsWith('.'))
            .OrderBy(d => d.Name, StringComparer.Ordinal);
        foreach (var (dir, name) in dirs)
        {
            if (TryParseFolderName(name, out int repeats, out string? tokens))
                result.Add(new DatasetSubset(dir, With(template, repeats, tokens, isReg)));
            else
                warnings.Add($"Skipped folder '{dir}': its name does not start with '<repeats>_' (such as '10_sks cat').");
        }
        return result;
    }

    private static SubsetSettings With(SubsetSettings template, int repeats, string? tokens, bool isReg) =>
        template with
        {
            NumRepeats = repeats,
            ClassTokens = tokens,
            IsReg = isReg,
            CaptionExtension = SubsetSettings.NormalizeExtension(template.CaptionExtension),
        };

    private static string TrimEnd(string path) => Path.TrimEndingDirectorySeparator(path);
}
