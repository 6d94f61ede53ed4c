using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Commands.Commands;

/// <summary>Writes a dataset manifest to a JSON file.</summary>
[Cmdlet(VerbsData.Export, "KohyaDatasetManifest", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportKohyaDatasetManifestCommand : KohyaExportFileCmdlet<KohyaDatasetManifest>
{
    protected override string ExistsErrorId => "DatasetManifestFileExists";

    protected override string Describe(KohyaDatasetManifest item) => $"Write dataset manifest ({item.Images.Count} images)";

    [MethodImpl(MethodImplOptions.NoInlining)]
    protected override void Write(KohyaDatasetManifest item, string path) => DatasetManifestJson.Write(item, path);
}
