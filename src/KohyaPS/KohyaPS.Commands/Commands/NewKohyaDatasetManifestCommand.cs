using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Commands.Commands;

/// <summary>Indexes and hashes a dataset (DreamBooth folder or kohya dataset TOML) into a manifest.</summary>
[Cmdlet(VerbsCommon.New, "KohyaDatasetManifest")]
[OutputType(typeof(KohyaDatasetManifest))]
public sealed class NewKohyaDatasetManifestCommand : KohyaDatasetCmdlet
{
    /// <summary>A DreamBooth folder or a kohya dataset .toml file.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "DatasetPath")]
    public string Path { get; set; } = "";

    /// <summary>Preprocessing settings for a DreamBooth folder (its Data section); the defaults when not given.</summary>
    [Parameter]
    public KohyaHyperparameterSet? HyperparameterSet { get; set; }

    /// <summary>Files hashed at once; 0 means one per logical processor.</summary>
    [Parameter]
    [ValidateRange(0, 256)]
    public int ThrottleLimit { get; set; }

    protected override void ProcessRecord()
    {
        string path = ResolveFileSystemPath(Path);
        var hp = HyperparameterSet ?? new KohyaHyperparameterSet();
        WriteObject(RunDatasetWork((progress, token) => Build(path, hp, progress, ThrottleLimit, token), path));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaDatasetManifest Build(string path, KohyaHyperparameterSet hp, IProgress<KohyaDatasetProgress> progress, int parallelism,
        CancellationToken token) =>
        DatasetSources.Manifest(path, hp, progress, parallelism, token);
}
