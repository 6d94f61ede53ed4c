using System.Globalization;
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
        WriteObject(RunWithProgress((progress, token) => Build(path, hp, progress, ThrottleLimit, token), path));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaDatasetManifest Build(string path, KohyaHyperparameterSet hp, IProgress<KohyaDatasetProgress> progress, int parallelism,
        CancellationToken token) =>
        DatasetSources.Manifest(path, hp, progress, parallelism, token);
}

/// <summary>
/// Base of the dataset cmdlets that read every file: the work runs on a worker thread (files in parallel) while
/// the pipeline thread shows its progress; Ctrl+C cancels it. Engine errors terminate the command.
/// </summary>
public abstract class KohyaDatasetCmdlet : KohyaCmdlet
{
    private const int ProgressActivityId = 4712;
    private CancellationTokenSource? _cancellation;

    protected override void StopProcessing() => _cancellation?.Cancel();

    protected T RunWithProgress<T>(Func<IProgress<KohyaDatasetProgress>, CancellationToken, T> work, object? target)
    {
        using var cancellation = new CancellationTokenSource();
        _cancellation = cancellation;
        var dispatcher = new PipelineDispatcher();
        var progress = new DispatchedProgress(dispatcher, p => WriteProgress(Record(p)));
        try
        {
            return dispatcher.Run(() => work(progress, cancellation.Token));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException and not OutOfMemoryException)
        {
            ThrowEngineError(ex, target);
            throw; // unreachable: ThrowTerminatingError always throws
        }
        finally
        {
            _cancellation = null;
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

    /// <summary>Progress from any thread, written on the pipeline thread.</summary>
    private sealed class DispatchedProgress(PipelineDispatcher dispatcher, Action<KohyaDatasetProgress> write) : IProgress<KohyaDatasetProgress>
    {
        public void Report(KohyaDatasetProgress value) => dispatcher.Post(() => write(value));
    }
}
