using KohyaPS.Contracts;

namespace KohyaPS.Engine.Datasets;

/// <summary>Caption tags as kohya counts them, and kohya's <c>ss_tag_frequency</c>.</summary>
public static class CaptionTags
{
    /// <summary>A caption's tags: split at commas, trimmed, empty ones dropped, lower-cased (kohya's set_tag_frequency).</summary>
    public static IEnumerable<string> Split(string caption)
    {
        foreach (string part in caption.Split(','))
        {
            string tag = part.Trim();
            if (tag.Length > 0)
                yield return tag.ToLowerInvariant();
        }
    }

    /// <summary>
    /// kohya's <c>ss_tag_frequency</c>: per image folder name (the last part of the subset's directory), how many
    /// times each tag occurs over the folder's captions, each caption counted once (repeats ignored). Folders and
    /// tags are in ordinal order so the JSON is stable.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Frequency(
        IReadOnlyList<KohyaDatasetImage> images, IReadOnlyList<KohyaDatasetSubset> subsets)
    {
        var perFolder = new SortedDictionary<string, SortedDictionary<string, int>>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            string folder = FolderName(subsets[image.Subset].Directory);
            if (!perFolder.TryGetValue(folder, out var counts))
                perFolder[folder] = counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (string tag in Split(image.Caption))
                counts[tag] = counts.GetValueOrDefault(tag) + 1;
        }
        var result = new Dictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
        foreach (var (folder, counts) in perFolder)
            result[folder] = new Dictionary<string, int>(counts, StringComparer.Ordinal);
        return result;
    }

    /// <summary>The folder name kohya keys tag frequencies by: the last segment of the directory.</summary>
    public static string FolderName(string directory)
    {
        string trimmed = directory.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        return slash < 0 ? trimmed : trimmed[(slash + 1)..];
    }
}
