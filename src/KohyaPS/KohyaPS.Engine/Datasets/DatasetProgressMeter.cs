using System.Diagnostics;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// Counts files and bytes from many threads and reports at most every <see cref="Interval"/> (plus once at the end),
/// so a progress bar sees steady updates without a flood of calls.
/// </summary>
internal sealed class DatasetProgressMeter
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly IProgress<KohyaDatasetProgress>? _progress;
    private readonly string _activity;
    private readonly int _filesTotal;
    private readonly long _bytesTotal;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _bytes;
    private int _files;
    private long _lastReportTicks;

    public DatasetProgressMeter(IProgress<KohyaDatasetProgress>? progress, string activity, int filesTotal, long bytesTotal)
    {
        _progress = progress;
        _activity = activity;
        _filesTotal = filesTotal;
        _bytesTotal = bytesTotal;
        _lastReportTicks = -Interval.Ticks;
    }

    public long Bytes => Interlocked.Read(ref _bytes);

    public TimeSpan Elapsed => _clock.Elapsed;

    public void AddBytes(long count)
    {
        Interlocked.Add(ref _bytes, count);
        MaybeReport();
    }

    public void FileDone()
    {
        Interlocked.Increment(ref _files);
        MaybeReport();
    }

    /// <summary>The final report (Completed = true).</summary>
    public void Complete() => _progress?.Report(Snapshot(completed: true));

    private void MaybeReport()
    {
        if (_progress is null)
            return;
        long now = _clock.Elapsed.Ticks;
        long last = Interlocked.Read(ref _lastReportTicks);
        if (now - last < Interval.Ticks || Interlocked.CompareExchange(ref _lastReportTicks, now, last) != last)
            return;
        _progress.Report(Snapshot(completed: false));
    }

    private KohyaDatasetProgress Snapshot(bool completed) => new()
    {
        Activity = _activity,
        FilesDone = Volatile.Read(ref _files),
        FilesTotal = _filesTotal,
        BytesDone = Interlocked.Read(ref _bytes),
        BytesTotal = _bytesTotal,
        Elapsed = _clock.Elapsed,
        Completed = completed,
    };
}
