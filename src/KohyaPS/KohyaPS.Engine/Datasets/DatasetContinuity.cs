using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Datasets;

/// <summary>What a resume accepts of a changed dataset.</summary>
/// <param name="Force">-Force: continue whatever changed.</param>
/// <param name="AcceptDatasetChanges">-AcceptDatasetChanges: continue on a changed dataset.</param>
public sealed record DatasetChangePolicy(bool Force, bool AcceptDatasetChanges)
{
    public bool Accepts => Force || AcceptDatasetChanges;

    public string Switch => Force ? "-Force" : "-AcceptDatasetChanges";
}

/// <summary>
/// The dataset check of a resume: the checkpoint's manifest against the dataset as it is now.
/// </summary>
/// <remarks>
/// <para>Identical: nothing to say. Only renamed or moved files: accepted with a warning — the data order
/// follows content (<see cref="ContentOrder"/>), so the run continues exactly. Any other change (an image added,
/// removed or modified, a caption changed, repeats or a subset's augmentation changed in the dataset's own
/// configuration) is refused with <see cref="DatasetManifestErrors.DatasetChanged"/> and a summary, unless the
/// policy accepts it; an accepted change is recorded as an override in the new segment's lineage, with a warning.</para>
/// <para>For a DreamBooth folder, the dataset-wide settings and the subsets' augmentation come from the
/// hyperparameter set, whose own resume policy decides about them; those differences are only noted here.</para>
/// </remarks>
public static class DatasetContinuity
{
    private const int ListedChanges = 10;

    /// <summary>
    /// Compares, decides, and records. When an accepted change leaves the saved position past the end of the epoch
    /// (fewer batches now), <paramref name="position"/> moves to the start of the next epoch.
    /// </summary>
    public static KohyaDatasetComparison? Reconcile(KohyaDatasetManifest? saved, TrainingData data, TrainingState position, string checkpointName,
        DatasetChangePolicy policy, Action<string> warn, Action<string> verbose, ICollection<string> overrides)
    {
        if (saved is null)
        {
            warn($"Checkpoint '{checkpointName}' holds no dataset manifest (it was written by an older KohyaPS): the dataset was not compared.");
            return null;
        }
        var current = data.Manifest;
        var comparison = DatasetManifestComparer.Compare(saved, current);
        if (comparison.IsIdentical)
        {
            verbose($"The dataset matches checkpoint '{checkpointName}' ({current.Images.Count} images, manifest {Short(current.ManifestHash)}).");
            return comparison;
        }

        bool fromHyperparameters = saved.SourceKind == "DreamBoothFolder" && current.SourceKind == "DreamBoothFolder";
        var covered = comparison.Changes.Where(c => fromHyperparameters && IsHyperparameterSetting(c)).ToList();
        var decisive = comparison.Changes
            .Where(c => !covered.Contains(c) && c.Change is not KohyaDatasetChangeKind.Renamed and not KohyaDatasetChangeKind.DistributionShift)
            .ToList();
        foreach (var c in covered)
            verbose($"Dataset preprocessing {c.Name}: {c.Reference} -> {c.Difference} (set by the hyperparameters).");

        if (decisive.Count == 0)
        {
            if (comparison.Renamed > 0)
                warn($"{comparison.Renamed} image(s) were renamed or moved since checkpoint '{checkpointName}'; their content is unchanged and the data order follows content, so the run continues exactly.");
            return comparison;
        }

        string summary = DatasetManifestComparer.Describe(decisive.Concat(comparison.Changes.Where(c => c.Change is KohyaDatasetChangeKind.Renamed or KohyaDatasetChangeKind.DistributionShift)).ToList(),
            comparison.TagShift, comparison.TagShiftThreshold, comparison.BucketShift, comparison.BucketShiftThreshold);
        if (!policy.Accepts)
            throw Refused(checkpointName, summary, decisive, current.Source);

        overrides.Add($"Dataset: {summary} (manifest {Short(saved.ManifestHash)} -> {Short(current.ManifestHash)}), accepted with {policy.Switch}");
        warn($"The dataset changed since checkpoint '{checkpointName}' ({summary}); continuing as asked with {policy.Switch}. "
            + "The batches are recomputed from the new data, so the run is no longer identical to one that never stopped.");
        int batches = data.BatchesPerEpoch(position.Epoch);
        if (position.BatchInEpoch >= batches)
        {
            warn($"The saved position (batch {position.BatchInEpoch} of epoch {position.Epoch}) is past the {batches} batches the changed dataset has per epoch; continuing at the start of epoch {position.Epoch + 1}.");
            position.Epoch++;
            position.BatchInEpoch = 0;
        }
        return comparison;
    }

    /// <summary>Settings a DreamBooth folder takes from the hyperparameter set (all but repeats and the regularisation role, which its folders give).</summary>
    private static bool IsHyperparameterSetting(KohyaDatasetChange change) =>
        change.Change == KohyaDatasetChangeKind.PreprocessingChanged
        && !change.Name.EndsWith(".NumRepeats", StringComparison.Ordinal)
        && !change.Name.EndsWith(".IsReg", StringComparison.Ordinal);

    private static KohyaException Refused(string checkpointName, string summary, IReadOnlyList<KohyaDatasetChange> changes, string source)
    {
        var lines = changes.Take(ListedChanges).Select(c => "  " + Line(c)).ToList();
        if (changes.Count > ListedChanges)
            lines.Add($"  ... and {changes.Count - ListedChanges} more");
        return new KohyaException(DatasetManifestErrors.DatasetChanged, KohyaErrorKind.InvalidData,
            $"The dataset changed since checkpoint '{checkpointName}': {summary}.{Environment.NewLine}{string.Join(Environment.NewLine, lines)}",
            target: source)
        {
            RecommendedAction = "Restore the dataset as it was, or resume with -AcceptDatasetChanges (or -Force) to train on the changed data; "
                + "the change is then recorded in the run's lineage. Compare-KohyaDatasetManifest lists every change.",
        };
    }

    private static string Line(KohyaDatasetChange c) => c.Change switch
    {
        KohyaDatasetChangeKind.CaptionChanged => $"{c.Change} {c.Name}: \"{c.Reference}\" -> \"{c.Difference}\"",
        KohyaDatasetChangeKind.PreprocessingChanged => $"{c.Change} {c.Name}: {c.Reference} -> {c.Difference}",
        _ => $"{c.Change} {c.Name}",
    };

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}
