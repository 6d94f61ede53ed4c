using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Jobs;
using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Commands.Commands;

/// <summary>Starts a training as a background job (Get-Job, Receive-Job, Stop-Job).</summary>
[Cmdlet(VerbsLifecycle.Start, "KohyaTraining", DefaultParameterSetName = ObjectSet)]
[OutputType(typeof(KohyaTrainingJob))]
public sealed class StartKohyaTrainingCommand : TrainingCommandBase
{
    /// <summary>The job's name.</summary>
    [Parameter]
    public string? Name { get; set; }

    protected override void EndProcessing()
    {
        var request = BuildRequest();
        string command = MyInvocation.Line.Trim();
        var job = new KohyaTrainingJob(MyInvocation.Line, Name ?? $"Kohya:{Path.GetFileName(request.OutputPath)}",
            (observer, token) => TrainJournaled(request, command, observer, token));
        JobRepository.Add(job);
        job.Start();
        WriteObject(job);
    }
}
