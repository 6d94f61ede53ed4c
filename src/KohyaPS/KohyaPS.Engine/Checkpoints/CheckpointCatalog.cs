using KohyaPS.Contracts;
using KohyaPS.Engine.Interop;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// What Get-KohyaCheckpoint lists for a path: our checkpoints (of a run folder, or one checkpoint folder) and the
/// checkpoints other trainers left there — sd-scripts state folders, diffusers <c>checkpoint-N</c> folders,
/// OneTrainer backups and kohya LoRA files — recognised, never unpickled.
/// </summary>
public static class CheckpointCatalog
{
    public static IReadOnlyList<KohyaCheckpointInfo> Find(string path, bool latest, bool all)
    {
        var (ours, foreign, single) = Locate(path, all, foreignToo: ours => !latest || !ours.Any(IsUsable));
        if (latest && !single) // a checkpoint or file named directly is described as it is
        {
            var newest = ours.Where(IsUsable).OrderByDescending(c => c.Step).Take(1).Select(CheckpointStore.Describe).ToList();
            return newest.Count > 0 ? newest : foreign.Where(f => f.IsValid).OrderByDescending(f => f.Step ?? -1).Take(1).Select(Describe).ToList();
        }
        return ours.OrderBy(c => c.Step).Select(CheckpointStore.Describe)
            .Concat(foreign.OrderBy(f => f.Step ?? -1).ThenBy(f => f.Path, StringComparer.Ordinal).Select(Describe)).ToList();
    }

    /// <summary>The checkpoint folders (and LoRA files) at a path, without reading their state: what Test-KohyaCheckpoint walks.</summary>
    public static IReadOnlyList<string> Paths(string path)
    {
        var (ours, foreign, _) = Locate(path, all: true, foreignToo: _ => true);
        return ours.Where(c => !c.IsTemporary).Select(c => c.Path).Concat(foreign.Select(f => f.Path)).ToList();
    }

    /// <summary>
    /// What a path holds: a file or a foreign folder is itself; one of our checkpoint folders is itself; a run folder
    /// holds our listed checkpoints (complete ones unless <paramref name="all"/>) and, when <paramref name="foreignToo"/>
    /// says so given ours, the foreign ones a scan finds. Single: the path named one checkpoint (no filtering applies).
    /// </summary>
    private static (IReadOnlyList<CheckpointListing> Ours, IReadOnlyList<KohyaForeignCheckpointInfo> Foreign, bool Single) Locate(
        string path, bool all, Func<IReadOnlyList<CheckpointListing>, bool> foreignToo)
    {
        var none = Array.Empty<CheckpointListing>();
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (File.Exists(full) || (!IsOurCheckpoint(full) && ForeignCheckpointDetector.Recognize(full) is not null))
            return (none, ForeignCheckpointDetector.Inspect(full) is { } one ? new[] { one } : Array.Empty<KohyaForeignCheckpointInfo>(), true);
        if (IsOurCheckpoint(full))
            return (CheckpointStore.List(Verification.CheckpointVerifier.RunPathOf(full)).Where(c => string.Equals(c.Path, full, StringComparison.Ordinal)).ToList(),
                Array.Empty<KohyaForeignCheckpointInfo>(), true);
        if (!Directory.Exists(full))
            return (none, Array.Empty<KohyaForeignCheckpointInfo>(), false);
        var ours = CheckpointStore.List(full).Where(c => all || IsUsable(c)).ToList();
        return (ours, foreignToo(ours) ? ForeignCheckpointDetector.Scan(full) : Array.Empty<KohyaForeignCheckpointInfo>(), false);
    }

    private static bool IsUsable(CheckpointListing c) => c.IsComplete && !c.IsQuarantined;

    /// <summary>A folder holding our state.json, or named like our checkpoints.</summary>
    public static bool IsOurCheckpoint(string folder) =>
        Directory.Exists(folder)
        && (File.Exists(Path.Combine(folder, CheckpointNames.StateFile)) || CheckpointNames.StepOf(Path.GetFileName(folder)) is not null);

    public static KohyaCheckpointInfo Describe(KohyaForeignCheckpointInfo f) => new()
    {
        Path = f.Path,
        Name = f.Name,
        RunPath = Path.GetDirectoryName(f.Path) ?? f.Path,
        Run = Path.GetFileName(Path.GetDirectoryName(f.Path) ?? ""),
        Step = f.Step ?? -1,
        Epoch = (int)Math.Clamp(f.Epoch ?? 0, 0, int.MaxValue),
        Created = f.Created,
        SizeBytes = f.SizeBytes,
        IsComplete = f.IsValid,
        Format = f.Format.ToString(),
        Foreign = f,
    };
}
