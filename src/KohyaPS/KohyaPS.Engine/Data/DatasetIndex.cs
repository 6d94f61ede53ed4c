namespace KohyaPS.Engine.Data;

/// <summary>One image of the dataset, as indexed.</summary>
/// <param name="AbsolutePath">Full path of the image file.</param>
/// <param name="RelativePath">Path relative to <see cref="DatasetDefinition.RootDirectory"/>, with '/' separators on every OS.</param>
/// <param name="Caption">The caption file's first line (trimmed), or the subset's class tokens when there is no caption file.</param>
/// <param name="SubsetIndex">Index into <see cref="DatasetDefinition.Subsets"/>.</param>
/// <param name="Repeats">How many times the image appears per epoch (the subset's num_repeats).</param>
/// <param name="IsReg">Whether the image is a regularisation image.</param>
/// <param name="Width">Pixel width from the file header.</param>
/// <param name="Height">Pixel height from the file header.</param>
public sealed record ImageEntry(
    string AbsolutePath,
    string RelativePath,
    string Caption,
    int SubsetIndex,
    int Repeats,
    bool IsReg,
    int Width,
    int Height);

/// <summary>
/// The images of a dataset in a fixed order: sorted by <see cref="ImageEntry.RelativePath"/> (ordinal), then by
/// subset index. Entry indices are what <see cref="DataOrder"/> and <see cref="BatchBuilder"/> work with.
/// </summary>
public sealed class DatasetIndex
{
    public DatasetIndex(DatasetDefinition definition, IReadOnlyList<ImageEntry> entries, IReadOnlyList<string> warnings)
    {
        Definition = definition;
        Entries = entries;
        Warnings = warnings;
    }

    public DatasetDefinition Definition { get; }

    public IReadOnlyList<ImageEntry> Entries { get; }

    /// <summary>The definition's warnings followed by the indexer's (e.g. empty subsets, empty caption files).</summary>
    public IReadOnlyList<string> Warnings { get; }

    public int Count => Entries.Count;

    public ImageEntry this[int index] => Entries[index];

    /// <summary>Samples per epoch before batching: the sum of every image's repeats.</summary>
    public long SamplesPerEpoch => Entries.Sum(e => (long)e.Repeats);

    /// <summary>The settings of the subset an entry belongs to.</summary>
    public SubsetSettings SubsetOf(int entryIndex) => Definition.Subsets[Entries[entryIndex].SubsetIndex].Settings;
}
