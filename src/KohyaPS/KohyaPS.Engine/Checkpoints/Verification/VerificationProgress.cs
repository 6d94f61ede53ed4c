namespace KohyaPS.Engine.Checkpoints.Verification;

/// <summary>How far a test has got: the stage, and bytes read of the bytes it will read.</summary>
public sealed record VerificationProgress(string Stage, long BytesDone, long BytesTotal);

/// <summary>Thread-safe byte counter that reports at most once per percent.</summary>
internal sealed class ByteProgress
{
    private readonly string _stage;
    private readonly long _total;
    private readonly Action<VerificationProgress>? _report;
    private long _done;
    private int _lastPercent = -1;

    public ByteProgress(string stage, long total, Action<VerificationProgress>? report)
    {
        _stage = stage;
        _total = Math.Max(total, 1);
        _report = report;
    }

    public void Add(long bytes)
    {
        if (_report is null)
            return;
        long done = Interlocked.Add(ref _done, bytes);
        int percent = (int)Math.Min(100, done * 100 / _total);
        int last = Volatile.Read(ref _lastPercent);
        if (percent > last && Interlocked.CompareExchange(ref _lastPercent, percent, last) == last)
            _report(new VerificationProgress(_stage, done, _total));
    }
}
