using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Training;

namespace KohyaPS.Commands.Commands;

/// <summary>Asks a training running in another process to finish its step, save and stop.</summary>
[Cmdlet(VerbsLifecycle.Stop, "KohyaTraining", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class StopKohyaTrainingCommand : KohyaCmdlet
{
    /// <summary>The run folder of the training to stop.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "RunPath", "OutputPath")]
    public string Path { get; set; } = "";

    /// <summary>Recorded in the run's warnings.</summary>
    [Parameter]
    public string Reason { get; set; } = "stop requested by Stop-KohyaTraining";

    protected override void ProcessRecord()
    {
        string run = ResolveFileSystemPath(Path);
        if (!Directory.Exists(run))
        {
            WriteError(ErrorRecordFactory.Create("RunNotFound", ErrorCategory.ObjectNotFound, $"Run folder '{run}' does not exist.", run));
            return;
        }
        if (!ShouldProcess(run, "Ask the training to save and stop"))
            return;
        string? holder = Request(run, Reason);
        if (holder is null)
            WriteWarning($"No training seems to hold '{run}' right now; the request stays there and is dropped by the next start.");
        else
            WriteVerbose($"Asked {holder} to save and stop.");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string? Request(string run, string reason)
    {
        StopRequestHook.Request(run, reason);
        return RunLock.ReadOwner(System.IO.Path.Combine(run, RunLock.OwnerFileName));
    }
}
