using KohyaPS.Engine.Checkpoints;

namespace KohyaPS.Engine.Training;

/// <summary>
/// The run's history as checkpoints record it: the run id, every segment so far (fresh start, then one
/// per resume, with what was overridden and any continuity warnings), and the last checkpoint written, which
/// becomes the parent of the next one.
/// </summary>
public sealed class RunLineage
{
    public RunLineage(string runId, IEnumerable<SegmentRecord> previousSegments, SegmentRecord current, string? lastCheckpointId)
    {
        RunId = runId;
        Segments = previousSegments.Append(current).ToList();
        LastCheckpointId = lastCheckpointId;
    }

    public string RunId { get; }

    public List<SegmentRecord> Segments { get; }

    public SegmentRecord Current => Segments[^1];

    /// <summary>The newest checkpoint of this lineage (the resume source until this segment saves).</summary>
    public string? LastCheckpointId { get; set; }
}
