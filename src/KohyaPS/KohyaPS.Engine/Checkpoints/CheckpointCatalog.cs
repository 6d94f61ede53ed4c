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
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (File.Exists(full))
            return ForeignCheckpointDetector.Inspect(full) is { } file ? new[] { Describe(file) } : Array.Empty<KohyaCheckpointInfo>();
        if (IsOurCheckpoint(full))
        {
            return CheckpointStore.List(Verification.CheckpointVerifier.RunPathOf(full))
                .Where(c => string.Equals(c.Path, full, StringComparison.Ordinal))
                .Select(CheckpointStore.Describe).ToList();
        }
        if (ForeignCheckpointDetector.Recognize(full) is not null)
            return ForeignCheckpointDetector.Inspect(full) is { } one ? new[] { Describe(one) } : Array.Empty<KohyaCheckpointInfo>();

        var ours = CheckpointStore.List(full).Where(c => all || (c.IsComplete && !c.IsQuarantined)).ToList();
        if (!Directory.Exists(full))
            return Array.Empty<KohyaCheckpointInfo>();
        var foreign = ForeignCheckpointDetector.Scan(full).Select(Describe).ToList();
        if (latest)
        {
            var newest = ours.Where(c => c.IsComplete && !c.IsQuarantined).OrderByDescending(c => c.Step).Take(1).Select(CheckpointStore.Describe).ToList();
            return newest.Count > 0 ? newest : foreign.Where(f => f.IsComplete).OrderByDescending(f => f.Step).Take(1).ToList();
        }
        return ours.OrderBy(c => c.Step).Select(CheckpointStore.Describe).Concat(foreign.OrderBy(f => f.Step).ThenBy(f => f.Path, StringComparer.Ordinal)).ToList();
    }

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
