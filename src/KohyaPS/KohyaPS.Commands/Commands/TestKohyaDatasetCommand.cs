using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Commands.Commands;

/// <summary>Checks every file of a dataset and reports each problem as a finding with an error id.</summary>
[Cmdlet(VerbsDiagnostic.Test, "KohyaDataset")]
[OutputType(typeof(KohyaDatasetFinding), typeof(bool))]
public sealed class TestKohyaDatasetCommand : KohyaDatasetCmdlet
{
    /// <summary>Return only $true (no Error findings) or $false.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        string path = ResolveFileSystemPath(Path);
        var hp = HyperparameterSet ?? new KohyaHyperparameterSet();
        var findings = RunDatasetWork((progress, token) => Inspect(path, hp, progress, ThrottleLimit, token), path);
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
