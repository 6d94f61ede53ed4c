using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Commands.Commands;

/// <summary>Trains in the foreground, with a progress bar; Ctrl+C finishes the step, saves and stops.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "KohyaTraining", DefaultParameterSetName = ObjectSet)]
[OutputType(typeof(KohyaTrainingResult))]
public sealed class InvokeKohyaTrainingCommand : TrainingCommandBase
{
    protected override void EndProcessing()
    {
        var request = BuildRequest();
        string command = MyInvocation.Line.Trim();
        WriteObject(RunEngine((observer, token) => TrainJournaled(request, command, observer, token), request.OutputPath));
    }
}
