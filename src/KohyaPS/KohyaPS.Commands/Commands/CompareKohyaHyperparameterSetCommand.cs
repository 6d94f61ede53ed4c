using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Lists every option that differs between two hyperparameter sets, with what the change does to a run
/// continuing from a checkpoint of the reference (Cosmetic, Trajectory, Incompatible).
/// </summary>
[Cmdlet(VerbsData.Compare, "KohyaHyperparameterSet")]
[OutputType(typeof(KohyaHyperparameterDifference))]
public sealed class CompareKohyaHyperparameterSetCommand : KohyaCmdlet
{
    /// <summary>The reference: a set, a hashtable, a checkpoint or a YAML path.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("ReferenceObject")]
    public object Reference { get; set; } = null!;

    /// <summary>The set to compare with it; from the pipeline too.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [Alias("DifferenceObject")]
    public object Difference { get; set; } = null!;

    /// <summary>Only differences of at least this impact.</summary>
    [Parameter]
    public KohyaImpact? MinimumImpact { get; set; }

    private KohyaHyperparameterSet? _reference;

    protected override void BeginProcessing()
    {
        try
        {
            _reference = HyperparameterArguments.ToSet(Reference, nameof(Reference), ResolveFileSystemPath);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowEngineError(ex, Reference);
        }
    }

    protected override void ProcessRecord()
    {
        try
        {
            var other = HyperparameterArguments.ToSet(Difference, nameof(Difference), ResolveFileSystemPath);
            foreach (var difference in Compare(_reference!, other))
            {
                if (MinimumImpact is null || difference.Impact >= MinimumImpact)
                    WriteObject(difference);
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, Difference);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<KohyaHyperparameterDifference> Compare(KohyaHyperparameterSet reference, KohyaHyperparameterSet difference) =>
        HyperparameterComparer.Compare(reference, difference);
}
