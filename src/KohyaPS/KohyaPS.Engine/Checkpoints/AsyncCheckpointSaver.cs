namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// Writes snapshots on a background thread, one in flight: submitting a new one first waits for the
/// previous write. A failed background write is rethrown at the next <see cref="Submit"/> or
/// <see cref="WaitForPending"/>, so no failure goes unnoticed. With async off, writes are synchronous.
/// </summary>
public sealed class AsyncCheckpointSaver : IDisposable
{
    private readonly CheckpointWriter _writer;
    private readonly bool _async;
    private Task<string>? _pending;

    public AsyncCheckpointSaver(CheckpointWriter writer, bool asynchronous)
    {
        _writer = writer;
        _async = asynchronous;
    }

    /// <summary>Raised (on the writing thread) after a checkpoint folder is in place.</summary>
    public event Action<string, CheckpointSnapshot>? Saved;

    /// <summary>The newest checkpoint written by this saver.</summary>
    public string? LatestPath { get; private set; }

    /// <summary>Starts writing <paramref name="snapshot"/> (takes ownership); synchronous when <paramref name="wait"/>.</summary>
    public void Submit(CheckpointSnapshot snapshot, bool wait = false)
    {
        WaitForPending();
        if (!_async || wait)
        {
            Complete(snapshot);
            return;
        }
        _pending = Task.Factory.StartNew(() => Complete(snapshot), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Waits for the write in flight, if any; rethrows its failure.</summary>
    public void WaitForPending()
    {
        var pending = _pending;
        _pending = null;
        pending?.GetAwaiter().GetResult();
    }

    private string Complete(CheckpointSnapshot snapshot)
    {
        using (snapshot)
        {
            string path = _writer.Write(snapshot);
            LatestPath = path;
            Saved?.Invoke(path, snapshot);
            return path;
        }
    }

    public void Dispose()
    {
        try
        {
            _pending?.Wait();
        }
        catch (AggregateException)
        {
            // Reported through WaitForPending by the owner; disposal must not throw.
        }
    }
}
