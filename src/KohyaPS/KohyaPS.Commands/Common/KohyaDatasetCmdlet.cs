using System.Globalization;
using System.Management.Automation;
using KohyaPS.Contracts;

namespace KohyaPS.Commands.Common;

/// <summary>
/// Base of the dataset cmdlets that read every file: the work runs on a worker thread (files in parallel) while
/// the pipeline thread shows its progress (files, MB, MB/s, time left); Ctrl+C cancels it. Engine errors
/// terminate the command.
/// </summary>
public abstract class KohyaDatasetCmdlet : KohyaAsyncCmdlet
{
    private const int ProgressActivityId = 4713;

    /// <summary>A DreamBooth folder or a kohya dataset .toml file.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "DatasetPath")]
    public string Path { get; set; } = "";

    /// <summary>Preprocessing settings for a DreamBooth folder (its Data section); the defaults when not given.</summary>
    [Parameter]
    public KohyaHyperparameterSet? HyperparameterSet { get; set; }

    /// <summary>Files read at once; 0 means one per logical processor.</summary>
    [Parameter]
    [ValidateRange(0, 256)]
    public int ThrottleLimit { get; set; }

    protected T RunDatasetWork<T>(Func<IProgress<KohyaDatasetProgress>, CancellationToken, T> work, object? target)
    {
        try
        {
            return RunWithProgress((report, token) => work(new Progress<KohyaDatasetProgress>(report, Record), token));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException and not OutOfMemoryException)
        {
            ThrowEngineError(ex, target);
            throw; // unreachable: ThrowTerminatingError always throws
        }
    }

    private static ProgressRecord Record(KohyaDatasetProgress p)
    {
        string status = string.Create(CultureInfo.InvariantCulture,
            $"{p.FilesDone}/{p.FilesTotal} files, {p.BytesDone / 1048576.0:0.0} of {p.BytesTotal / 1048576.0:0.0} MB, {p.BytesPerSecond / 1048576.0:0.0} MB/s");
        var record = new ProgressRecord(ProgressActivityId, p.Activity, status) { PercentComplete = p.PercentComplete };
        if (p.BytesPerSecond > 0 && p.BytesTotal > p.BytesDone)
            record.SecondsRemaining = (int)Math.Min(int.MaxValue, (p.BytesTotal - p.BytesDone) / p.BytesPerSecond);
        if (p.Completed)
            record.RecordType = ProgressRecordType.Completed;
        return record;
    }

    /// <summary>Engine progress from any thread, turned into a progress record the base class writes on the pipeline thread.</summary>
    private sealed class Progress<TValue>(Action<ProgressRecord> report, Func<TValue, ProgressRecord> toRecord) : IProgress<TValue>
    {
        public void Report(TValue value) => report(toRecord(value));
    }
}
