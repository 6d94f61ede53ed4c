using KohyaPS.Contracts;
using KohyaPS.Engine.Data;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// The order training numbers images in: by content, not by name. Entries are sorted by the image's SHA-256,
/// then the caption's SHA-256, repeats and regularisation flag, and only then by path (to order exact duplicates).
/// </summary>
/// <remarks>
/// <see cref="DataOrder"/> derives the batches of every epoch from this numbering and the seed. Ordering by
/// content means renaming or moving files (to another folder with the same settings) leaves every batch as it
/// was, so an exact resume survives a rename; adding, removing or changing an image moves the others, as it must.
/// </remarks>
public static class ContentOrder
{
    /// <summary>The index with its entries in content order; <paramref name="manifest"/> is the index's own manifest.</summary>
    public static DatasetIndex Apply(DatasetIndex index, KohyaDatasetManifest manifest)
    {
        var images = manifest.Images.ToDictionary(i => (i.Path, i.Subset));
        var keyed = index.Entries.Select(e =>
        {
            if (!images.TryGetValue((e.RelativePath, e.SubsetIndex), out var image))
                throw new ArgumentException($"The manifest does not list '{e.RelativePath}' of the index.", nameof(manifest));
            return (Entry: e, Image: image);
        }).ToList();
        keyed.Sort(static (a, b) =>
        {
            int c = string.CompareOrdinal(a.Image.Sha256, b.Image.Sha256);
            if (c == 0) c = string.CompareOrdinal(a.Image.CaptionSha256, b.Image.CaptionSha256);
            if (c == 0) c = a.Entry.Repeats.CompareTo(b.Entry.Repeats);
            if (c == 0) c = a.Entry.IsReg.CompareTo(b.Entry.IsReg);
            if (c == 0) c = string.CompareOrdinal(a.Entry.RelativePath, b.Entry.RelativePath);
            if (c == 0) c = a.Entry.SubsetIndex.CompareTo(b.Entry.SubsetIndex);
            return c;
        });
        return new DatasetIndex(index.Definition, keyed.Select(k => k.Entry).ToList(), index.Warnings);
    }
}
