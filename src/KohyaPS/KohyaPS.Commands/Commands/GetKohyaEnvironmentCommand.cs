using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Native;

namespace KohyaPS.Commands.Commands;

/// <summary>Describes the machine as a training run sees it: versions, threads, devices.</summary>
[Cmdlet(VerbsCommon.Get, "KohyaEnvironment")]
[OutputType(typeof(KohyaEnvironmentInfo))]
public sealed class GetKohyaEnvironmentCommand : KohyaCmdlet
{
    protected override void EndProcessing()
    {
        try
        {
            WriteObject(Describe());
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowEngineError(ex);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaEnvironmentInfo Describe() => EnvironmentProbe.Describe();
}
