using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Commands.Commands;

/// <summary>Lists what changed between two dataset manifests, and how far the tag and bucket distributions moved.</summary>
[Cmdlet(VerbsData.Compare, "KohyaDatasetManifest")]
[OutputType(typeof(KohyaDatasetChange), typeof(KohyaDatasetComparison))]
public sealed class CompareKohyaDatasetManifestCommand : KohyaPS.Commands.Common.KohyaCmdlet
{
    /// <summary>The manifest to compare against (a manifest, a manifest file, a checkpoint folder or a checkpoint).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [DatasetManifestTransformation]
    public KohyaDatasetManifest Reference { get; set; } = null!;

    /// <summary>The manifest to compare (a manifest, a manifest file, a checkpoint folder or a checkpoint).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [DatasetManifestTransformation]
    public KohyaDatasetManifest Difference { get; set; } = null!;

    /// <summary>Total-variation distance of tag frequencies above which a DistributionShift is reported.</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double TagShiftThreshold { get; set; } = 0.10;

    /// <summary>Total-variation distance of bucket histograms above which a DistributionShift is reported.</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double BucketShiftThreshold { get; set; } = 0.10;

    /// <summary>Return one comparison object (counts, distances, every change) instead of the changes.</summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    protected override void ProcessRecord()
    {
        var comparison = Compare(Reference, Difference, TagShiftThreshold, BucketShiftThreshold);
        if (Summary)
            WriteObject(comparison);
        else
            WriteObject(comparison.Changes, enumerateCollection: true);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaDatasetComparison Compare(KohyaDatasetManifest reference, KohyaDatasetManifest difference, double tags, double buckets) =>
        DatasetManifestComparer.Compare(reference, difference, tags, buckets);
}

/// <summary>
/// Lets a manifest parameter take what users have at hand: a manifest, the path of a manifest JSON file or of a
/// checkpoint folder (its dataset.json), or a checkpoint from Get-KohyaCheckpoint.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class DatasetManifestTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject ps ? ps.BaseObject : inputData;
        string? path = value switch
        {
            KohyaDatasetManifest => null,
            KohyaCheckpointInfo checkpoint => checkpoint.Path,
            FileSystemInfo info => info.FullName,
            string s => engineIntrinsics.SessionState.Path.GetUnresolvedProviderPathFromPSPath(s),
            _ => null,
        };
        if (path is null)
            return value;
        try
        {
            return ImportKohyaDatasetManifestCommand.Load(path);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            throw new ArgumentTransformationMetadataException(ex.Message, ex);
        }
    }
}
