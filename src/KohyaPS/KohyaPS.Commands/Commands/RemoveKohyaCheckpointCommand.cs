using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;

namespace KohyaPS.Commands.Commands;

/// <summary>Deletes checkpoints: by retention rule for a run folder, or the ones piped in. Supports -WhatIf.</summary>
[Cmdlet(VerbsCommon.Remove, "KohyaCheckpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = RetentionSet)]
[OutputType(typeof(void))]
public sealed class RemoveKohyaCheckpointCommand : KohyaCmdlet
{
    private const string RetentionSet = "Retention";
    private const string InputSet = "Input";

    /// <summary>The run folder to prune.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = RetentionSet)]
    [Alias("PSPath", "RunPath")]
    public string Path { get; set; } = "";

    /// <summary>Keep the newest N complete checkpoints.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RetentionSet)]
    [ValidateRange(1, int.MaxValue)]
    public int KeepLast { get; set; }

    /// <summary>Also keep every checkpoint whose step is a multiple of M.</summary>
    [Parameter(ParameterSetName = RetentionSet)]
    [ValidateRange(0, int.MaxValue)]
    public int KeepEvery { get; set; }

    /// <summary>Checkpoints from Get-KohyaCheckpoint.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputSet)]
    public KohyaCheckpointInfo[] InputObject { get; set; } = Array.Empty<KohyaCheckpointInfo>();

    /// <summary>Allow deleting the newest complete checkpoint of a run.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            Remove();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex);
        }
    }

    private void Remove()
    {
        var targets = ParameterSetName == RetentionSet
            ? RetentionTargets(ResolveFileSystemPath(Path), KeepLast, KeepEvery)
            : InputObject.Select(c => (Path: c.Path, Run: c.RunPath)).ToList();
        foreach (var group in targets.GroupBy(t => t.Run))
        {
            // A training in progress owns its folder (and prunes it itself): take the run lock or refuse.
            using var runLock = WhatIf() ? null : Lock(group.Key);
            foreach (var (checkpoint, run) in group)
                RemoveOne(checkpoint, run);
        }
    }

    private bool WhatIf() => MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IDisposable Lock(string run) => RunLock.Acquire(run);

    private void RemoveOne(string checkpoint, string run)
    {
        if (!Force && IsNewestComplete(run, checkpoint))
        {
            WriteError(ErrorRecordFactory.Create("NewestCheckpointProtected", ErrorCategory.PermissionDenied,
                $"'{checkpoint}' is the newest complete checkpoint of its run; it is what a resume would use.", checkpoint,
                "Use -Force if you really mean to delete it."));
            return;
        }
        if (!ShouldProcess(checkpoint, "Delete checkpoint"))
            return;
        try
        {
            Directory.Delete(checkpoint, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteEngineError(ex, checkpoint);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<(string Path, string Run)> RetentionTargets(string run, int keepLast, int keepEvery) =>
        CheckpointRetention.Candidates(run, keepLast, keepEvery).Select(c => (c.Path, run)).ToList();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool IsNewestComplete(string run, string checkpoint)
    {
        var newest = CheckpointStore.List(run).Where(c => c.IsComplete && !c.IsQuarantined).OrderByDescending(c => c.Step).FirstOrDefault();
        return newest is not null && string.Equals(newest.Path, System.IO.Path.GetFullPath(checkpoint), StringComparison.Ordinal);
    }
}
