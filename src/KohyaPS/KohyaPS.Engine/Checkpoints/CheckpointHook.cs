using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// Saves checkpoints through the training hooks: every N steps, every N epochs, when the run stops
/// (Ctrl+C, SIGTERM, a stop request) and at the end. Interval saves are asynchronous when configured; the
/// final save is always synchronous. Retention runs after each save.
/// </summary>
public sealed class CheckpointHook : ITrainingHook, IDisposable
{
    private readonly AsyncCheckpointSaver _saver;
    private readonly RunLineage _lineage;
    private readonly Func<string> _datasetJson;
    private readonly string _environmentJson;
    private long _lastSavedStep = -1;
    private double _smoothedLoss = double.NaN;

    public CheckpointHook(string runDirectory, SavingSection saving, RunLineage lineage, Func<string> datasetJson, string environmentJson,
        CheckpointWriter? writer = null)
    {
        _saver = new AsyncCheckpointSaver(writer ?? new CheckpointWriter(runDirectory), saving.AsyncSave);
        _saver.Saved += (_, _) => CheckpointRetention.Prune(runDirectory, saving.KeepLast, saving.KeepEvery);
        _lineage = lineage;
        _datasetJson = datasetJson;
        _environmentJson = environmentJson;
        RunDirectory = runDirectory;
    }

    public string RunDirectory { get; }

    /// <summary>The newest checkpoint this segment wrote.</summary>
    public string? LatestCheckpoint => _saver.LatestPath;

    public double SmoothedLoss => _smoothedLoss;

    /// <summary>The step a segment starts at is saved already (a resume starts from that checkpoint).</summary>
    public void OnRunStarted(TrainingContext context) => _lastSavedStep = context.State.GlobalStep;

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        if (double.IsFinite(report.Loss))
            _smoothedLoss = double.IsNaN(_smoothedLoss) ? report.Loss : 0.9 * _smoothedLoss + 0.1 * report.Loss;
        int every = context.Hyperparameters.Saving.SaveEveryNSteps;
        if (context.TakeSaveRequest() is { } requested)
            SaveRequested(context, requested);
        else if (every > 0 && report.Step % every == 0 && report.Step < context.TargetStep)
            Save(context, "Interval", wait: false);
    }

    /// <summary>After a rollback the restored step is the saved one.</summary>
    public void OnRolledBack(TrainingContext context, RollbackReport report) => _lastSavedStep = report.ToStep;

    /// <summary>Blocks until every submitted save is on disk (and reports a failed one).</summary>
    public void WaitForPending() => _saver.WaitForPending();

    /// <summary>
    /// A save another hook asked for. "Best" (a new lowest validation loss) is written synchronously and then
    /// recorded in the run's best.json, so the marker never names a checkpoint that is not complete.
    /// </summary>
    private void SaveRequested(TrainingContext context, string reason)
    {
        bool best = reason == BestReason;
        Save(context, reason, wait: best);
        if (best && _saver.LatestPath is { } path && context.Monitors.LastValidationLoss is { } loss)
            BestCheckpoint.Write(RunDirectory, new BestCheckpoint.Entry(Path.GetFileName(path), context.State.GlobalStep, loss, DateTime.UtcNow));
    }

    /// <summary>The reason of a save made because the validation loss reached a new low.</summary>
    public const string BestReason = "Best";

    public void OnEpochEnded(TrainingContext context, int epoch)
    {
        int every = context.Hyperparameters.Saving.SaveEveryNEpochs;
        if (every > 0 && (epoch + 1) % every == 0 && context.State.GlobalStep != _lastSavedStep)
            Save(context, "Epoch", wait: false);
    }

    public void OnRunEnded(TrainingContext context, string status)
    {
        if (context.State.GlobalStep != _lastSavedStep && context.State.GlobalStep > 0)
            Save(context, status == "Completed" ? "Final" : "Stop", wait: true);
        _saver.WaitForPending();
    }

    private void Save(TrainingContext context, string reason, bool wait)
    {
        context.Observer.Verbose(string.Create(CultureInfo.InvariantCulture, $"Saving checkpoint at step {context.State.GlobalStep} ({reason})."));
        var snapshot = Capture(context, reason);
        _lastSavedStep = context.State.GlobalStep;
        _lineage.LastCheckpointId = snapshot.State.CheckpointId;
        _saver.Submit(snapshot, wait);
    }

    private CheckpointSnapshot Capture(TrainingContext context, string reason) =>
        CheckpointSnapshot.Capture(context, context.RunName, reason, _lineage.RunId, _lineage.LastCheckpointId, _lineage.Segments,
            double.IsFinite(_smoothedLoss) ? _smoothedLoss : null, _datasetJson(), _environmentJson);

    public void Dispose() => _saver.Dispose();
}
