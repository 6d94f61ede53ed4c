using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Commands.Commands;

/// <summary>Writes a dataset manifest to a JSON file.</summary>
[Cmdlet(VerbsData.Export, "KohyaDatasetManifest", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportKohyaDatasetManifestCommand : KohyaCmdlet
{
    /// <summary>The manifest to write.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public KohyaDatasetManifest InputObject { get; set; } = null!;

    /// <summary>The JSON file to write.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Return the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string resolved = ResolveFileSystemPath(Path);
        if (File.Exists(resolved) && !Force)
        {
            WriteError(ErrorRecordFactory.Create("DatasetManifestFileExists", ErrorCategory.ResourceExists,
                $"'{resolved}' already exists.", resolved, "Use -Force to overwrite it."));
            return;
        }
        if (!ShouldProcess(resolved, $"Write dataset manifest ({InputObject.Images.Count} images)"))
            return;
        try
        {
            Write(InputObject, resolved);
            if (PassThru)
                WriteObject(new FileInfo(resolved));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, resolved);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Write(KohyaDatasetManifest manifest, string path) => DatasetManifestJson.Write(manifest, path);
}
