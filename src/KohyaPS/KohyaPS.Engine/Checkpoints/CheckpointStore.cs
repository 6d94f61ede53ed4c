using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>A checkpoint folder as found on disk, before anything inside is trusted.</summary>
public sealed record CheckpointListing(string Path, string Name, long Step, bool IsComplete, bool IsQuarantined, bool IsTemporary,
    DateTime Created, long SizeBytes);

/// <summary>The outcome of verifying one checkpoint's files against its checksum list.</summary>
public sealed record CheckpointVerification(string Path, bool IsValid, IReadOnlyList<string> Problems);

/// <summary>
/// The checkpoints of a run folder: listing, verification, quarantine of bad ones, clean-up of folders
/// left by killed saves, and the newest good checkpoint to resume from.
/// </summary>
public static class CheckpointStore
{
    /// <summary>Every checkpoint-like folder under <c>&lt;run&gt;/checkpoints</c>, sorted by step then name.</summary>
    public static IReadOnlyList<CheckpointListing> List(string runDirectory)
    {
        string dir = CheckpointNames.CheckpointsDirectory(runDirectory);
        if (!Directory.Exists(dir))
            return Array.Empty<CheckpointListing>();
        var list = new List<CheckpointListing>();
        foreach (var info in new DirectoryInfo(dir).EnumerateDirectories())
        {
            string name = info.Name;
            bool temporary = CheckpointNames.IsTemporary(name);
            long? step = CheckpointNames.StepOf(temporary ? name[CheckpointNames.TempPrefix.Length..] : name);
            if (step is null && !temporary)
                continue;
            bool complete = !temporary && CheckpointNames.ExpectedFiles.All(f => File.Exists(Path.Combine(info.FullName, f)));
            long size = info.EnumerateFiles().Sum(f => f.Length);
            list.Add(new CheckpointListing(info.FullName, name, step ?? -1, complete, CheckpointNames.IsQuarantined(name), temporary,
                info.CreationTimeUtc, size));
        }
        return list.OrderBy(c => c.Step).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Removes temporary folders left by saves that were killed; returns what was removed.</summary>
    public static IReadOnlyList<string> CleanupTemporary(string runDirectory)
    {
        var removed = new List<string>();
        foreach (var t in List(runDirectory).Where(c => c.IsTemporary))
        {
            Directory.Delete(t.Path, recursive: true);
            removed.Add(t.Path);
        }
        return removed;
    }

    /// <summary>Checks that every expected file is present and matches the checksum list (what every resume runs).</summary>
    public static CheckpointVerification Verify(string checkpointDirectory, CancellationToken cancellation = default)
    {
        var checks = new Verification.CheckList();
        Verification.IntegrityChecks.Files(checkpointDirectory, checks);
        Verification.IntegrityChecks.Checksums(checkpointDirectory, checks, null, cancellation);
        var problems = checks.Checks.Where(c => c.Status == KohyaCheckStatus.Fail).Select(c => c.Message.TrimEnd('.')).ToList();
        return new CheckpointVerification(checkpointDirectory, problems.Count == 0, problems);
    }

    /// <summary>Renames a bad checkpoint aside (never deletes it) so its step can be saved again.</summary>
    public static string Quarantine(string checkpointDirectory)
    {
        string target = Path.Combine(Path.GetDirectoryName(checkpointDirectory)!,
            CheckpointNames.QuarantineName(Path.GetFileName(checkpointDirectory), DateTime.UtcNow));
        DurableFiles.RenameDirectory(checkpointDirectory, target);
        return target;
    }

    /// <summary>
    /// The newest checkpoint that is complete and verifies. Newer ones that fail are quarantined and reported
    /// through <paramref name="warn"/>. Null when none is usable.
    /// </summary>
    public static string? LatestGood(string runDirectory, Action<string> warn, CancellationToken cancellation = default)
    {
        foreach (var c in List(runDirectory).Where(c => !c.IsTemporary && !c.IsQuarantined).OrderByDescending(c => c.Step))
        {
            var check = Verify(c.Path, cancellation);
            if (check.IsValid)
                return c.Path;
            string moved = Quarantine(c.Path);
            warn($"Checkpoint '{c.Name}' is unusable ({string.Join("; ", check.Problems)}); moved aside to '{Path.GetFileName(moved)}' and falling back to an older one.");
        }
        return null;
    }

    /// <summary>The pipeline object for a listed checkpoint; state and settings are read when present.</summary>
    public static KohyaCheckpointInfo Describe(CheckpointListing listing)
    {
        CheckpointState? state = null;
        KohyaHyperparameterSet? hp = null;
        try
        {
            string statePath = Path.Combine(listing.Path, CheckpointNames.StateFile);
            if (File.Exists(statePath))
                state = CheckpointState.Parse(File.ReadAllText(statePath), statePath);
            string hpPath = Path.Combine(listing.Path, CheckpointNames.HyperparametersFile);
            if (File.Exists(hpPath))
                hp = HyperparameterYaml.Load(hpPath);
        }
        catch (KohyaException)
        {
            // An unreadable file is the test cmdlet's to report; listing shows what it can.
        }
        string runPath = Path.GetDirectoryName(Path.GetDirectoryName(listing.Path)!)!;
        var best = BestCheckpoint.Read(runPath);
        return new KohyaCheckpointInfo
        {
            Path = listing.Path,
            Name = listing.Name,
            RunPath = runPath,
            Run = state?.RunName ?? Path.GetFileName(runPath),
            Step = state?.GlobalStep ?? listing.Step,
            Epoch = state?.Epoch ?? 0,
            Created = state?.CreatedUtc ?? listing.Created,
            SizeBytes = listing.SizeBytes,
            IsComplete = listing.IsComplete,
            IsQuarantined = listing.IsQuarantined,
            Loss = state?.SmoothedLoss,
            ValidationLoss = state?.ValidationLoss,
            IsBest = best is not null && best.Checkpoint == listing.Name,
            HyperparameterSet = hp,
            Lineage = state is null ? null : LineageOf(state),
        };
    }

    public static KohyaLineage LineageOf(CheckpointState state) => new()
    {
        CheckpointId = state.CheckpointId,
        ParentCheckpointId = state.ParentCheckpointId,
        RunId = state.RunId,
        SegmentId = state.Segments.LastOrDefault()?.SegmentId ?? "",
        SegmentStartedUtc = state.Segments.LastOrDefault()?.StartedUtc ?? default,
        Segments = state.Segments.Select(s => new KohyaSegment
        {
            SegmentId = s.SegmentId,
            StartedUtc = s.StartedUtc,
            StartStep = s.StartStep,
            ResumedFrom = s.ResumedFrom,
            Overrides = s.Overrides,
            Warnings = s.Warnings,
        }).ToList(),
    };
}
