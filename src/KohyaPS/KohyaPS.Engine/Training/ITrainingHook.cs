namespace KohyaPS.Engine.Training;

/// <summary>
/// What a plug-in (loss log, progress, checkpointing, monitors, sampling) sees of a run. The loop calls
/// hooks in registration order; a hook never edits the loop, it reacts and may ask the run to stop or save.
/// </summary>
public interface ITrainingHook
{
    /// <summary>Before the first step of this segment (fresh start or resume).</summary>
    void OnRunStarted(TrainingContext context) { }

    /// <summary>After every optimizer step.</summary>
    void OnStepEnded(TrainingContext context, StepReport report) { }

    /// <summary>After the last batch of an epoch; <paramref name="epoch"/> is the epoch that ended (0-based).</summary>
    void OnEpochEnded(TrainingContext context, int epoch) { }

    /// <summary>After a rollback restored weights, optimizer state and position from a checkpoint.</summary>
    void OnRolledBack(TrainingContext context, RollbackReport report) { }

    /// <summary>When the segment ends for any reason; <paramref name="status"/> is Completed or Stopped.</summary>
    void OnRunEnded(TrainingContext context, string status) { }
}

/// <summary>What one optimizer step did.</summary>
/// <param name="Step">Cumulative optimizer steps done, 1-based (the first step of a run is 1).</param>
/// <param name="Epoch">The epoch the step's last micro-batch came from (0-based).</param>
/// <param name="Loss">Mean loss over the step's micro-batches.</param>
/// <param name="LearningRate">The learning rate the optimizer used.</param>
/// <param name="GradNorm">Total gradient norm before clipping.</param>
/// <param name="Samples">Images seen in this step.</param>
/// <param name="Seconds">Wall time of this step.</param>
/// <param name="Skipped">The loss or gradients were not finite, so the update was not applied.</param>
public sealed record StepReport(long Step, int Epoch, double Loss, double LearningRate, double GradNorm, int Samples, double Seconds, bool Skipped = false);
