using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Engine.Data;

namespace KohyaPS.Commands.Commands;

/// <summary>Draws the embedded synthetic demo dataset in kohya DreamBooth layout.</summary>
[Cmdlet(VerbsCommon.New, "KohyaDemoDataset", SupportsShouldProcess = true)]
[OutputType(typeof(DirectoryInfo))]
public sealed class NewKohyaDemoDatasetCommand : KohyaCmdlet
{
    /// <summary>The dataset folder to create.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    /// <summary>Number of images.</summary>
    [Parameter]
    [ValidateRange(1, 100000)]
    public int Count { get; set; } = 64;

    /// <summary>Seed of the drawing.</summary>
    [Parameter]
    public long Seed { get; set; } = 42;

    /// <summary>Image side in pixels.</summary>
    [Parameter]
    [ValidateRange(8, 1024)]
    public int Size { get; set; } = 32;

    /// <summary>Replace an existing demo dataset.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string path = ResolveFileSystemPath(Path);
        if (!ShouldProcess(path, $"Create a demo dataset of {Count} images"))
            return;
        try
        {
            WriteObject(new DirectoryInfo(Generate(path, Count, Seed, Size, Force)));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowEngineError(ex, path);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string Generate(string path, int count, long seed, int size, bool force) =>
        DemoDatasetGenerator.Generate(path, count, seed, size, overwrite: force).RootPath;
}
