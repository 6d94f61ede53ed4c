using System.Collections.Concurrent;
using System.Management.Automation;

namespace KohyaPS.Commands.Common;

/// <summary>
/// Runs long engine work on a worker thread while the pipeline thread pumps what the worker posts
/// (WriteProgress, WriteWarning, WriteVerbose must be called on the pipeline thread). One per run.
/// </summary>
internal sealed class PipelineDispatcher
{
    private readonly BlockingCollection<Action> _queue = new();

    /// <summary>Queues an action for the pipeline thread; dropped once the run has ended.</summary>
    public void Post(Action action)
    {
        try
        {
            _queue.Add(action);
        }
        catch (InvalidOperationException)
        {
            // The run has completed; late notifications have nowhere to go.
        }
    }

    /// <summary>Starts <paramref name="work"/> on a worker thread and pumps posted actions until it ends.</summary>
    public T Run<T>(Func<T> work)
    {
        var task = Task.Factory.StartNew(() =>
        {
            try
            {
                return work();
            }
            finally
            {
                _queue.CompleteAdding();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        bool stopped = false;
        foreach (var action in _queue.GetConsumingEnumerable())
        {
            if (stopped)
                continue;
            try
            {
                action();
            }
            catch (PipelineStoppedException)
            {
                // Ctrl+C: the pipeline takes no more output, but the work is saving — keep waiting for it.
                stopped = true;
            }
        }
        var result = task.GetAwaiter().GetResult();
        if (stopped)
            throw new PipelineStoppedException();
        return result;
    }
}
