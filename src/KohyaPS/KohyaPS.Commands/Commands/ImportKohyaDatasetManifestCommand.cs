using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Commands.Commands;

/// <summary>Reads a dataset manifest from JSON (a file, or a checkpoint folder's dataset.json), strictly.</summary>
[Cmdlet(VerbsData.Import, "KohyaDatasetManifest")]
[OutputType(typeof(KohyaDatasetManifest))]
public sealed class ImportKohyaDatasetManifestCommand : KohyaCmdlet
{
    /// <summary>Manifest JSON files or checkpoint folders.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LiteralPath")]
    public string[] Path { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (string path in Path)
        {
            string resolved = ResolveFileSystemPath(path);
            try
            {
                WriteObject(Load(resolved));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteEngineError(ex, resolved);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static KohyaDatasetManifest Load(string path) => DatasetManifestJson.Load(path);
}
