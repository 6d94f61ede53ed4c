using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;

namespace KohyaPS.Commands.Commands;

/// <summary>Lists the checkpoints of run folders (or describes checkpoint folders), sorted by step.</summary>
[Cmdlet(VerbsCommon.Get, "KohyaCheckpoint")]
[OutputType(typeof(KohyaCheckpointInfo))]
public sealed class GetKohyaCheckpointCommand : KohyaCmdlet
{
    /// <summary>Run folders or checkpoint folders; wildcards allowed. Default: the current folder.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "RunPath")]
    [SupportsWildcards]
    public string[] Path { get; set; } = { "." };

    /// <summary>Only the newest complete checkpoint of each run.</summary>
    [Parameter]
    public SwitchParameter Latest { get; set; }

    /// <summary>Also incomplete, quarantined and temporary folders.</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var pattern in Path)
        {
            IEnumerable<string> resolved;
            try
            {
                resolved = GetResolvedProviderPathFromPSPath(pattern, out _);
            }
            catch (ItemNotFoundException ex)
            {
                WriteError(new ErrorRecord(ex, "PathNotFound", ErrorCategory.ObjectNotFound, pattern));
                continue;
            }
            foreach (var path in resolved)
            {
                try
                {
                    foreach (var info in Find(path, Latest, All))
                        WriteObject(info);
                }
                catch (Exception ex) when (ex is not PipelineStoppedException)
                {
                    WriteEngineError(ex, path);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IEnumerable<KohyaCheckpointInfo> Find(string path, bool latest, bool all) => CheckpointCatalog.Find(path, latest, all);
}
