namespace KohyaPS.Contracts;

/// <summary>
/// The exit codes of an unattended <c>Resume-KohyaTraining</c> (the cmdlet sets <c>$LASTEXITCODE</c> to one of
/// these; a scheduled task's command ends with <c>exit $LASTEXITCODE</c>). Zero means the run is at its target.
/// </summary>
public enum KohyaExitCode
{
    /// <summary>Trained to the target, or the run was already complete.</summary>
    Success = 0,

    /// <summary>Any other failure (bad arguments, a missing module, an I/O error, an engine fault).</summary>
    Failed = 1,

    /// <summary>Another process is training the run (RunLocked).</summary>
    RunLocked = 10,

    /// <summary>No run folder, or no complete, verified checkpoint in it (NothingToResume, RunNotFound).</summary>
    NothingToResume = 11,

    /// <summary>The checkpoint asked for is damaged, incomplete or not ours (CheckpointInvalid and relatives).</summary>
    CheckpointInvalid = 12,

    /// <summary>The hyperparameters differ from the checkpoint's and the difference was not allowed (HyperparameterDriftRefused).</summary>
    HyperparameterDriftRefused = 13,

    /// <summary>The dataset changed since the checkpoint and the change was not accepted (DatasetChanged).</summary>
    DatasetChangeRefused = 14,

    /// <summary>The training was stopped before its target (Stop-KohyaTraining, Ctrl+C, SIGTERM); it saved and can be resumed.</summary>
    Stopped = 15,
}
