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
