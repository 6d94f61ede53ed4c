using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Commands.Jobs;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Training;
using KohyaPS.Engine.Unattended;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Continues a run from a checkpoint: the newest good one of a run folder (-Path … -Latest), a given
/// checkpoint folder, or a checkpoint (or a passing test result) from the pipeline. Never prompts; sets
/// <c>$global:LASTEXITCODE</c> to a <see cref="KohyaExitCode"/> (0 at the target, a distinct code per kind of
/// refusal) so <c>pwsh -Command "...; exit $LASTEXITCODE"</c> reports it to a scheduler.
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "KohyaTraining", DefaultParameterSetName = PathSet)]
[OutputType(typeof(KohyaTrainingResult), typeof(KohyaTrainingJob))]
public sealed class ResumeKohyaTrainingCommand : KohyaAsyncCmdlet
{
    private const string PathSet = "Path";
    private const string CheckpointSet = "Checkpoint";
    private const string InputSet = "Input";
    private object? _input;
    private int _inputCount;
    private volatile int _exitCode = (int)KohyaExitCode.Failed;

    /// <summary>A run folder, or a checkpoint folder.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Alias("PSPath", "RunPath")]
    public string Path { get; set; } = "";

    /// <summary>Resume from the newest complete, verified checkpoint of the run folder.</summary>
    [Parameter(ParameterSetName = PathSet)]
    public SwitchParameter Latest { get; set; }

    /// <summary>A specific checkpoint folder.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CheckpointSet)]
    public string CheckpointPath { get; set; } = "";

    /// <summary>A checkpoint from Get-KohyaCheckpoint or a result from Test-KohyaCheckpoint.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputSet)]
    public object InputObject { get; set; } = null!;

    /// <summary>The cumulative step to train to.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long? MaxSteps { get; set; }

    /// <summary>Steps to train beyond the checkpoint's step.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long? AdditionalSteps { get; set; }

    /// <summary>Where the run's dataset is now, when it moved.</summary>
    [Parameter]
    public string? DatasetPath { get; set; }

    /// <summary>The hyperparameters to continue with; every difference from the checkpoint's goes through the resume policy.</summary>
    [Parameter]
    public KohyaHyperparameterSet? HyperparameterSet { get; set; }

    /// <summary>A hyperparameter YAML file to continue with (instead of -HyperparameterSet).</summary>
    [Parameter]
    public string? ConfigPath { get; set; }

    /// <summary>Intended changes: @{ 'Optimizer.LearningRate' = 5e-4 } (or nested by section); allowed and recorded.</summary>
    [Parameter]
    public System.Collections.Hashtable? Override { get; set; }

    /// <summary>Accept every Trajectory difference, not only those named in -Override, and a changed dataset.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Start with a fresh optimizer state; allows Optimizer.Type and Model.TrainTextEncoder to change.</summary>
    [Parameter]
    public SwitchParameter ResetOptimizer { get; set; }

    /// <summary>Ramp the learning rate up over this many steps after resuming.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Rewarm { get; set; }

    /// <summary>Continue even when the dataset changed since the checkpoint; the change is recorded in the lineage.</summary>
    [Parameter]
    public SwitchParameter AcceptDatasetChanges { get; set; }

    /// <summary>Run as a background job.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void BeginProcessing() => SetExitCode(KohyaExitCode.Failed);

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputSet)
        {
            _input = InputObject;
            _inputCount++;
        }
    }

    protected override void EndProcessing()
    {
        if (MaxSteps is not null && AdditionalSteps is not null)
            ThrowTerminatingError(ErrorRecordFactory.Create("ConflictingTarget", ErrorCategory.InvalidArgument,
                "Give -MaxSteps (cumulative) or -AdditionalSteps (relative), not both.", null));
        if (HyperparameterSet is not null && ConfigPath is not null)
            ThrowTerminatingError(ErrorRecordFactory.Create("ConflictingHyperparameters", ErrorCategory.InvalidArgument,
                "Give -HyperparameterSet or -ConfigPath, not both.", null));
        var request = BuildRequest();
        if (request is null)
            return;
        string command = MyInvocation.Line.Trim();
        if (AsJob)
        {
            var job = new KohyaTrainingJob(MyInvocation.Line, $"Kohya:{System.IO.Path.GetFileName(request.RunPath ?? request.CheckpointPath)}",
                (observer, token) => ResumeJournaled(request, command, observer, token, _ => { }));
            JobRepository.Add(job);
            job.Start();
            SetExitCode(KohyaExitCode.Success); // the job started; its own outcome is in its state and the run log
            WriteObject(job);
            return;
        }
        KohyaTrainingResult result;
        try
        {
            result = RunEngine((observer, token) => ResumeJournaled(request, command, observer, token, code => _exitCode = code), request.RunPath ?? request.CheckpointPath);
        }
        finally
        {
            SetExitCode((KohyaExitCode)_exitCode);
        }
        if (result.Status == "AlreadyComplete")
            WriteVerbose($"Nothing to train: the run is at step {result.FinalStep}, the target is {result.TargetStep}.");
        WriteObject(result);
    }

    /// <summary>$global:LASTEXITCODE, so that a scheduled `pwsh -Command "...; exit $LASTEXITCODE"` exits with it.</summary>
    private void SetExitCode(KohyaExitCode code) =>
        SessionState.PSVariable.Set("global:LASTEXITCODE", (int)code);

    private ResumeRequest? BuildRequest()
    {
        string? run = null, checkpoint = null;
        switch (ParameterSetName)
        {
            case CheckpointSet:
                checkpoint = ResolveFileSystemPath(CheckpointPath);
                break;
            case InputSet:
                if (_inputCount > 1)
                    WriteWarning($"{_inputCount} checkpoints came down the pipeline; resuming from the last one only.");
                checkpoint = CheckpointFromInput(_input);
                if (checkpoint is null)
                    return null;
                break;
            default:
                string path = ResolveFileSystemPath(Path);
                if (File.Exists(System.IO.Path.Combine(path, CheckpointNames.StateFile)))
                    checkpoint = path;
                else
                    run = path;
                break;
        }
        return new ResumeRequest
        {
            RunPath = run,
            CheckpointPath = checkpoint,
            MaxSteps = MaxSteps,
            AdditionalSteps = AdditionalSteps,
            DatasetPath = DatasetPath is null ? null : ResolveFileSystemPath(DatasetPath),
            Hyperparameters = ConfigPath is null ? HyperparameterSet : RequestedConfig(ResolveFileSystemPath(ConfigPath)),
            Overrides = HyperparameterArguments.Unwrap(Override),
            Force = Force,
            ResetOptimizer = ResetOptimizer,
            RewarmSteps = Rewarm ?? 0,
            AcceptDatasetChanges = AcceptDatasetChanges,
        };
    }

    private KohyaHyperparameterSet? RequestedConfig(string path)
    {
        try
        {
            return LoadConfig(path);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowEngineError(ex, path);
            return null;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaHyperparameterSet LoadConfig(string path) => KohyaPS.Engine.Hyperparameters.HyperparameterYaml.Load(path);

    private string? CheckpointFromInput(object? input)
    {
        object? value = input is PSObject ps ? ps.BaseObject : input;
        var shape = input is PSObject wrapped ? wrapped : PSObject.AsPSObject(value);
        string? format = value switch { KohyaCheckpointInfo i => i.Format, KohyaCheckpointTestResult t => t.Format, _ => null };
        if (format is not null && format != "KohyaPS")
        {
            WriteError(ErrorRecordFactory.Create("CheckpointFormatNotResumable", ErrorCategory.InvalidData,
                format == "KohyaLora"
                    ? $"'{shape.Properties["Path"]?.Value}' is a LoRA file: it holds weights only, no training state to resume."
                    : $"'{shape.Properties["Path"]?.Value}' is a {format} checkpoint: KohyaPS lists and tests those but does not resume them (their optimizer and RNG state are Python pickles, which KohyaPS never executes).",
                value, "Start a KohyaPS run (Invoke-KohyaTraining) and resume its checkpoints."));
            SetExitCode(KohyaExitCode.CheckpointInvalid);
            return null;
        }
        switch (value)
        {
            case KohyaCheckpointInfo info:
                return info.Path;
            case KohyaCheckpointTestResult { IsValid: true } passed:
                return passed.Path;
            case string s:
                return ResolveFileSystemPath(s);
            default:
                // Test-KohyaCheckpoint results (and anything shaped like them): Path plus IsValid.
                var pso = shape;
                if (pso.Properties["IsValid"]?.Value is false)
                {
                    WriteError(ErrorRecordFactory.Create("CheckpointTestFailed", ErrorCategory.InvalidData,
                        $"Test-KohyaCheckpoint found '{pso.Properties["Path"]?.Value}' invalid; it will not be resumed.", value,
                        "Look at the result's Checks, or resume the run folder with -Latest to fall back to a good checkpoint."));
                    SetExitCode(KohyaExitCode.CheckpointInvalid);
                    return null;
                }
                if (pso.Properties["Path"]?.Value is string p)
                    return ResolveFileSystemPath(p);
                ThrowTerminatingError(ErrorRecordFactory.Create("UnsupportedInput", ErrorCategory.InvalidArgument,
                    $"Cannot resume from a {value?.GetType().Name ?? "null"}: pipe a checkpoint from Get-KohyaCheckpoint or a result from Test-KohyaCheckpoint.", value));
                return null;
        }
    }

    /// <summary>The resume, journaled in the run's kohyaps.log; <paramref name="exitCode"/> learns how it ended.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaTrainingResult ResumeJournaled(ResumeRequest request, string command, KohyaPS.Engine.Training.ITrainingObserver observer,
        CancellationToken token, Action<int> exitCode)
    {
        try
        {
            var result = JournaledTraining.Resume(request, command, observer, token);
            exitCode((int)ExitCodes.ForResult(result));
            return result;
        }
        catch (Exception ex)
        {
            exitCode((int)ExitCodes.ForException(ex));
            throw;
        }
    }
}
