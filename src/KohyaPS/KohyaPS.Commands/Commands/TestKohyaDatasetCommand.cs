using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Commands.Commands;

/// <summary>Checks every file of a dataset and reports each problem as a finding with an error id.</summary>
[Cmdlet(VerbsDiagnostic.Test, "KohyaDataset")]
[OutputType(typeof(KohyaDatasetFinding), typeof(bool))]
public sealed class TestKohyaDatasetCommand : KohyaDatasetCmdlet
{
    /// <summary>A DreamBooth folder or a kohya dataset .toml file.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "DatasetPath")]
    public string Path { get; set; } = "";

    /// <summary>Preprocessing settings for a DreamBooth folder (its Data section); the defaults when not given.</summary>
    [Parameter]
    public KohyaHyperparameterSet? HyperparameterSet { get; set; }

    /// <summary>Return only $true (no Error findings) or $false.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>Files checked at once; 0 means one per logical processor.</summary>
    [Parameter]
    [ValidateRange(0, 256)]
    public int ThrottleLimit { get; set; }

    protected override void ProcessRecord()
    {
        string path = ResolveFileSystemPath(Path);
        var hp = HyperparameterSet ?? new KohyaHyperparameterSet();
        var findings = RunWithProgress((progress, token) => Inspect(path, hp, progress, ThrottleLimit, token), path);
        if (Quiet)
            WriteObject(findings.All(f => f.Severity != KohyaFindingSeverity.Error));
        else
            WriteObject(findings, enumerateCollection: true);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<KohyaDatasetFinding> Inspect(string path, KohyaHyperparameterSet hp, IProgress<KohyaDatasetProgress> progress,
        int parallelism, CancellationToken token) =>
        DatasetInspector.Inspect(DatasetSources.Definition(path, hp), progress, parallelism, token);
}
