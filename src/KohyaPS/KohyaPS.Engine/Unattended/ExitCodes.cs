using KohyaPS.Contracts;

namespace KohyaPS.Engine.Unattended;

/// <summary>
/// Maps how a resume ended to a <see cref="KohyaExitCode"/>: error ids for failures, the result's status
/// for runs that ended. One table, used by the cmdlet ($LASTEXITCODE) and the run log alike.
/// </summary>
public static class ExitCodes
{
    private static readonly Dictionary<string, KohyaExitCode> ByErrorId = new(StringComparer.Ordinal)
    {
        ["RunLocked"] = KohyaExitCode.RunLocked,
        ["NothingToResume"] = KohyaExitCode.NothingToResume,
        ["RunNotFound"] = KohyaExitCode.NothingToResume,
        ["CheckpointInvalid"] = KohyaExitCode.CheckpointInvalid,
        ["CheckpointNotFound"] = KohyaExitCode.CheckpointInvalid,
        ["CheckpointStateInvalid"] = KohyaExitCode.CheckpointInvalid,
        ["CheckpointModelMismatch"] = KohyaExitCode.CheckpointInvalid,
        ["CheckpointFileMissing"] = KohyaExitCode.CheckpointInvalid,
        ["CheckpointFormatUnsupported"] = KohyaExitCode.CheckpointInvalid,
        ["CheckpointFormatUnknown"] = KohyaExitCode.CheckpointInvalid,
        ["CheckpointFormatNotResumable"] = KohyaExitCode.CheckpointInvalid,
        ["CheckpointTestFailed"] = KohyaExitCode.CheckpointInvalid,
        ["OptimizerStateMismatch"] = KohyaExitCode.CheckpointInvalid,
        ["HyperparameterDriftRefused"] = KohyaExitCode.HyperparameterDriftRefused,
        ["HyperparameterChangeIncompatible"] = KohyaExitCode.HyperparameterDriftRefused,
        ["DatasetChanged"] = KohyaExitCode.DatasetChangeRefused,
        ["OperationStopped"] = KohyaExitCode.Stopped,
    };

    /// <summary>The code for a failure with this error id (<see cref="KohyaExitCode.Failed"/> for any id not in the table).</summary>
    public static KohyaExitCode ForErrorId(string? errorId) =>
        errorId is not null && ByErrorId.TryGetValue(errorId, out var code) ? code : KohyaExitCode.Failed;

    /// <summary>The code for an exception the engine raised.</summary>
    public static KohyaExitCode ForException(Exception exception) => exception switch
    {
        KohyaException kohya => ForErrorId(kohya.ErrorId),
        OperationCanceledException => KohyaExitCode.Stopped,
        _ => KohyaExitCode.Failed,
    };

    /// <summary>The code for a run that ended: 0 at the target (Completed, AlreadyComplete), Stopped before it.</summary>
    public static KohyaExitCode ForResult(KohyaTrainingResult result) =>
        result.Status == "Stopped" || result.FinalStep < result.TargetStep ? KohyaExitCode.Stopped : KohyaExitCode.Success;

    /// <summary>Every error id with its code, for documentation and tests.</summary>
    public static IReadOnlyDictionary<string, KohyaExitCode> Table => ByErrorId;
}
