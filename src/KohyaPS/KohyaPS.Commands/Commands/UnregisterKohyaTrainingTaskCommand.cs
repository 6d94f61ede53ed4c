using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Unattended;

namespace KohyaPS.Commands.Commands;

/// <summary>Removes registered training tasks (the scheduled task, or the systemd units after disabling them). The run folder is not touched.</summary>
[Cmdlet(VerbsLifecycle.Unregister, "KohyaTrainingTask", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(KohyaTrainingTaskInfo))]
public sealed class UnregisterKohyaTrainingTaskCommand : KohyaCmdlet
{
    private const string NameSet = "Name";
    private const string InputSet = "Input";

    /// <summary>The task's name (no wildcards: removal names what it removes).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    public string Name { get; set; } = "";

    /// <summary>A task from Get-KohyaTrainingTask.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputSet)]
    public KohyaTrainingTaskInfo InputObject { get; set; } = null!;

    /// <summary>Output the removed task.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string name = ParameterSetName == InputSet ? InputObject.Name : Name;
        KohyaTrainingTaskInfo? task;
        try
        {
            task = Find(name);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, name);
            return;
        }
        if (task is null)
        {
            WriteError(ErrorRecordFactory.Create("TaskNotFound", ErrorCategory.ObjectNotFound, $"No training task named '{name}' is registered.", name,
                "List them with Get-KohyaTrainingTask."));
            return;
        }
        if (!ShouldProcess(task.Location, $"Unregister the training task '{task.Name}' (resumes '{task.RunPath}')"))
            return;
        try
        {
            Remove(task, WriteWarning);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, task);
            return;
        }
        if (PassThru)
            WriteObject(task);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaTrainingTaskInfo? Find(string name) =>
        new TrainingTaskScheduler().List(name).FirstOrDefault(t => t.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Remove(KohyaTrainingTaskInfo task, Action<string> warn) => new TrainingTaskScheduler().Unregister(task, warn);
}
