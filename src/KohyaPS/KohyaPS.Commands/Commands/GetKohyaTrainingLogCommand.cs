using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Monitoring;

namespace KohyaPS.Commands.Commands;

/// <summary>One record per cumulative step of a run across every resume, stitched from its logs.</summary>
[Cmdlet(VerbsCommon.Get, "KohyaTrainingLog", DefaultParameterSetName = PathSet)]
[OutputType(typeof(KohyaTrainingLogRecord))]
public sealed class GetKohyaTrainingLogCommand : KohyaCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    /// <summary>Run folders (or checkpoint folders of runs); wildcards allowed. Default: the current folder.</summary>
    [Parameter(ParameterSetName = PathSet, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("RunPath", "OutputPath")]
    [SupportsWildcards]
    public string[] Path { get; set; } = { "." };

    /// <summary>Run folders, taken as written (no wildcards).</summary>
    [Parameter(ParameterSetName = LiteralPathSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Only these segments: 1 is the fresh start, 2 the first resume, and so on.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int[] Segment { get; set; } = Array.Empty<int>();

    /// <summary>Only steps at or after this one.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long FirstStep { get; set; }

    /// <summary>Only steps at or before this one.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long LastStep { get; set; } = long.MaxValue;

    /// <summary>Also the records of steps a later segment trained again (IsSuperseded), in the order written.</summary>
    [Parameter]
    public SwitchParameter IncludeSuperseded { get; set; }

    protected override void ProcessRecord()
    {
        foreach (string run in Runs())
        {
            if (!_done.Add(run))
                continue; // several checkpoints of one run piped in: its log once
            var query = new TrainingLogQuery
            {
                FirstStep = FirstStep,
                LastStep = LastStep,
                Segments = Segment,
                IncludeSuperseded = IncludeSuperseded,
            };
            try
            {
                foreach (var record in Read(run, query))
                    WriteObject(record);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteEngineError(ex, run);
            }
        }
    }

    private IEnumerable<string> Runs()
    {
        if (ParameterSetName == LiteralPathSet)
        {
            foreach (string literal in LiteralPath)
                yield return RunOf(ResolveFileSystemPath(literal));
            yield break;
        }
        foreach (string pattern in Path)
        {
            IEnumerable<string> resolved;
            try
            {
                resolved = GetResolvedProviderPathFromPSPath(pattern, out _);
            }
            catch (ItemNotFoundException ex)
            {
                WriteError(ErrorRecordFactory.Create("RunNotFound", ErrorCategory.ObjectNotFound, ex.Message, pattern,
                    "Give the folder a training was started in (its -OutputPath)."));
                continue;
            }
            foreach (string path in resolved)
                yield return RunOf(path);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string RunOf(string path) => TrainingLogFiles.RunOf(path);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private IEnumerable<KohyaTrainingLogRecord> Read(string run, TrainingLogQuery query) =>
        TrainingLogReader.Read(run, query, CancellationToken.None);
}
