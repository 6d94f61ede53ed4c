using System.Globalization;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Monitoring;

namespace KohyaPS.Engine.Training;

/// <summary>A guard's request: go back to the newest good checkpoint saved before <paramref name="BeforeStep"/>.</summary>
public sealed record RollbackRequest(string Reason, long BeforeStep);

/// <summary>What a rollback did: from which step to which checkpoint, and the learning-rate scale now in force.</summary>
public sealed record RollbackReport(long FromStep, string Checkpoint, long ToStep, double LearningRateScale, string Reason);

/// <summary>
/// Carries out a rollback inside the running process: waits for pending saves, finds the newest complete
/// checkpoint before the trouble that verifies, restores weights, optimizer state and data position from it,
/// scales the learning rate by Monitoring.RollbackLearningRateFactor and starts a new segment in the lineage
/// (so the log, Get-KohyaCheckpoint and later checkpoints show it). Returns null when no checkpoint qualifies.
/// </summary>
internal sealed class RollbackExecutor
{
    private readonly TrainingContext _context;
    private readonly CheckpointHook _checkpoints;
    private readonly RunLineage _lineage;

    public RollbackExecutor(TrainingContext context, CheckpointHook checkpoints, RunLineage lineage)
    {
        _context = context;
        _checkpoints = checkpoints;
        _lineage = lineage;
    }

    public RollbackReport? Execute(RollbackRequest request)
    {
        _checkpoints.WaitForPending();
        string? target = NewestGoodBefore(request.BeforeStep);
        if (target is null)
            return null;
        long fromStep = _context.State.GlobalStep;
        var saved = ResumePoint.Load(target);
        saved.LoadWeightsInto(_context.Model);
        using (var optimizerState = saved.ReadOptimizer())
            _context.Optimizer.ImportState(optimizerState);
        saved.RestorePosition(_context.State);
        long toStep = _context.State.GlobalStep;

        var m = _context.Monitors;
        double factor = _context.Hyperparameters.Monitoring.RollbackLearningRateFactor;
        m.Rollbacks++;
        m.LearningRateScale *= factor;
        m.NonFiniteSteps.Clear();
        m.TroubleSince = null;
        m.PlateauLosses.Clear();

        string name = Path.GetFileName(target);
        string note = string.Create(CultureInfo.InvariantCulture,
            $"Rollback {m.Rollbacks} after {request.Reason} at step {fromStep}: restored {name} (step {toStep}); learning rate x{factor:G3} (scale now {m.LearningRateScale:G3}).");
        var segment = new SegmentRecord
        {
            SegmentId = Guid.NewGuid().ToString("N"),
            StartedUtc = DateTime.UtcNow,
            StartStep = toStep,
            ResumedFrom = name,
            Overrides = new List<string> { note },
        };
        _lineage.Segments.Add(segment);
        _lineage.LastCheckpointId = saved.State.CheckpointId;
        _context.BeginSegment(segment.SegmentId, segment.StartedUtc);
        TrainingEvents.Raise(_context, "Rollback", "Rollback", note, toStep, null, step: fromStep);
        return new RollbackReport(fromStep, target, toStep, m.LearningRateScale, request.Reason);
    }

    private string? NewestGoodBefore(long step)
    {
        foreach (var candidate in CheckpointStore.List(_context.RunDirectory)
                     .Where(c => c.IsComplete && !c.IsQuarantined && c.Step < step).OrderByDescending(c => c.Step))
        {
            var check = CheckpointStore.Verify(candidate.Path);
            if (check.IsValid)
                return candidate.Path;
            _context.Observer.Warning($"Rollback skips {candidate.Name}: {string.Join("; ", check.Problems)}.");
        }
        return null;
    }
}
