namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// Retention: keep the newest <c>keepLast</c> complete checkpoints, keep every checkpoint whose step is a
/// multiple of <c>keepEvery</c> for good, never delete the best checkpoint (<see cref="BestCheckpoint"/>), and never delete the newest complete checkpoint. Incomplete and
/// quarantined folders are never touched here.
/// </summary>
public static class CheckpointRetention
{
    /// <summary>The checkpoints retention would delete, oldest first.</summary>
    public static IReadOnlyList<CheckpointListing> Candidates(string runDirectory, int keepLast, int keepEvery)
    {
        if (keepLast <= 0)
            return Array.Empty<CheckpointListing>();
        var complete = CheckpointStore.List(runDirectory).Where(c => c.IsComplete && !c.IsQuarantined).OrderByDescending(c => c.Step).ToList();
        string? best = BestCheckpoint.Read(runDirectory)?.Checkpoint;
        return complete.Skip(Math.Max(1, keepLast))
            .Where(c => !(keepEvery > 0 && c.Step % keepEvery == 0) && c.Name != best)
            .OrderBy(c => c.Step)
            .ToList();
    }

    public static IReadOnlyList<string> Prune(string runDirectory, int keepLast, int keepEvery)
    {
        var deleted = new List<string>();
        foreach (var c in Candidates(runDirectory, keepLast, keepEvery))
        {
            Directory.Delete(c.Path, recursive: true);
            deleted.Add(c.Path);
        }
        return deleted;
    }
}
