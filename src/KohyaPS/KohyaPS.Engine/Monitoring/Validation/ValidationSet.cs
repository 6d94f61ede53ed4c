using KohyaPS.Contracts;
using KohyaPS.Engine.Data;

namespace KohyaPS.Engine.Monitoring.Validation;

/// <summary>
/// The held-out images and their fixed batches: every image at its bucket's resolution, centre-cropped, not
/// flipped, with its caption as written (no shuffling, no dropout). The same batches every time, so the
/// validation loss of two steps differs only because the weights do.
/// </summary>
public sealed class ValidationSet
{
    private readonly IReadOnlyList<BatchPlan> _plans;

    public ValidationSet(DatasetIndex index)
    {
        // Augmentation off: the validation loss measures the model, not the dice.
        var plain = index.Definition.Subsets
            .Select(s => s with { Settings = s.Settings with { FlipAug = false, ShuffleCaption = false, CaptionDropoutRate = 0, RandomCrop = false, ColorAug = false } })
            .ToList();
        var definition = new DatasetDefinition(index.Definition.SourcePath, index.Definition.SourceKind, index.Definition.RootDirectory,
            index.Definition.Settings, plain, index.Definition.Warnings);
        Index = new DatasetIndex(definition, index.Entries, index.Warnings);
        Buckets = BucketPlanner.Assign(Index);
        int batchSize = Math.Max(1, Index.Definition.Settings.BatchSize);
        var plans = new List<BatchPlan>();
        for (int b = 0; b < Buckets.Buckets.Count; b++)
            foreach (var chunk in Buckets.EntriesByBucket[b].Chunk(batchSize))
                plans.Add(new BatchPlan(0, plans.Count, b, Buckets.Buckets[b], chunk));
        _plans = plans;
    }

    public DatasetIndex Index { get; }

    public BucketAssignment Buckets { get; }

    public int Count => Index.Count;

    public int BatchCount => _plans.Count;

    public TrainingBatch Load(int batch) => BatchBuilder.Build(_plans[batch], Index, Buckets, seed: 0);

    /// <summary>
    /// Splits a content-ordered index: the first round(split × count) entries (at least one, at most all but one) are
    /// held out. Content order sorts by image hash, so the split does not depend on file names and looks random.
    /// </summary>
    public static (DatasetIndex Training, DatasetIndex Validation) Split(DatasetIndex contentOrdered, double split)
    {
        int count = contentOrdered.Count;
        int held = Math.Clamp((int)Math.Round(split * count, MidpointRounding.AwayFromZero), 1, Math.Max(1, count - 1));
        if (count < 2)
            throw new KohyaException("ValidationSplitTooSmall", KohyaErrorKind.InvalidArgument,
                $"Data.ValidationSplit needs at least 2 images to hold one out; the dataset has {count}.", target: "Data.ValidationSplit");
        return (new DatasetIndex(contentOrdered.Definition, contentOrdered.Entries.Skip(held).ToList(), contentOrdered.Warnings),
            new DatasetIndex(contentOrdered.Definition, contentOrdered.Entries.Take(held).ToList(), contentOrdered.Warnings));
    }
}
