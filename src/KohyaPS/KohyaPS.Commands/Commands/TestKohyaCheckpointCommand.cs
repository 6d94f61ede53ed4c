using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Verification;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Checks that checkpoints are whole, fit their settings and this machine, and (-Deep) hold no NaN/Inf.
/// Emits one result per checkpoint (or, with -Quiet, one bool); a run folder tests each of its checkpoints.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "KohyaCheckpoint", DefaultParameterSetName = PathSet)]
[OutputType(typeof(KohyaCheckpointTestResult), typeof(bool))]
public sealed class TestKohyaCheckpointCommand : KohyaAsyncCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";

    /// <summary>Checkpoint folders or run folders; wildcards allowed. Binds the Path of piped checkpoints.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Checkpoint or run folders, taken literally (no wildcards).</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralSet)]
    [Alias("LP")]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Also read every tensor and scan weights and optimizer moments for NaN and Inf.</summary>
    [Parameter]
    public SwitchParameter Deep { get; set; }

    /// <summary>Return only $true (valid) or $false per checkpoint.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var folder in ResolveInputs())
        {
            KohyaCheckpointTestResult result;
            try
            {
                result = RunWithProgress((report, token) => Verify(folder, Deep, p => report(
                    ProgressRecords.Bytes(ProgressRecords.CheckActivityId, $"Testing {System.IO.Path.GetFileName(folder)}", p.Stage, p.BytesDone, p.BytesTotal)), token));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteEngineError(ex, folder);
                if (Quiet) WriteObject(false);
                continue;
            }
            WriteProgress(ProgressRecords.Completed(ProgressRecords.CheckActivityId, $"Testing {result.Name}"));
            foreach (var c in result.Checks.Where(c => c.Status is KohyaCheckStatus.Fail or KohyaCheckStatus.Warn))
                WriteVerbose($"{result.Name}: {c}");
            WriteObject(Quiet ? result.IsValid : result);
        }
    }

    private IEnumerable<string> ResolveInputs()
    {
        bool literal = ParameterSetName == LiteralSet;
        foreach (var input in literal ? LiteralPath : Path)
        {
            IEnumerable<string> resolved;
            try
            {
                resolved = literal ? new[] { ResolveFileSystemPath(input) } : GetResolvedProviderPathFromPSPath(input, out _);
            }
            catch (ItemNotFoundException ex)
            {
                WriteError(new ErrorRecord(ex, "PathNotFound", ErrorCategory.ObjectNotFound, input));
                if (Quiet) WriteObject(false);
                continue;
            }
            foreach (var path in resolved)
            {
                var folders = CheckpointsUnder(path);
                if (folders is null)
                {
                    WriteError(ErrorRecordFactory.Create("CheckpointNotFound", ErrorCategory.ObjectNotFound,
                        $"'{path}' is neither a checkpoint (ours, an sd-scripts state, diffusers or OneTrainer folder, a kohya LoRA file) nor a folder holding one.", path,
                        "Give a checkpoint folder (…/checkpoints/<run>-s<step>), a LoRA .safetensors file or a run folder; Get-KohyaCheckpoint lists them."));
                    if (Quiet) WriteObject(false);
                    continue;
                }
                foreach (var f in folders)
                    yield return f;
            }
        }
    }

    /// <summary>
    /// The checkpoint itself (ours, another trainer's folder, or a LoRA file); for a run folder each checkpoint in it
    /// (temporary save folders excluded); null when there is none.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<string>? CheckpointsUnder(string path)
    {
        if (!Directory.Exists(path) && !File.Exists(path))
            return null;
        var found = CheckpointCatalog.Paths(path);
        return found.Count > 0 ? found : null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaCheckpointTestResult Verify(string folder, bool deep, Action<VerificationProgress> progress, CancellationToken token) =>
        CheckpointVerifier.Test(folder, deep, progress, token);
}
