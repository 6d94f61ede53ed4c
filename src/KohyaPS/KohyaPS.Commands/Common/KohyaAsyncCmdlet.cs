using System.Management.Automation;
using System.Runtime.InteropServices;
using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Commands.Common;

/// <summary>
/// Base for cmdlets that run long engine work: the work runs on a worker thread with a cancellation
/// token; progress, warnings and verbose notes come back to the pipeline thread. Ctrl+C (StopProcessing)
/// and SIGTERM both cancel the token, and the engine finishes its step, saves and stops.
/// </summary>
public abstract class KohyaAsyncCmdlet : KohyaCmdlet
{
    private CancellationTokenSource? _cancellation;

    protected override void StopProcessing() => _cancellation?.Cancel();

    /// <summary>Runs <paramref name="work"/> off the pipeline thread; engine errors terminate the cmdlet.</summary>
    protected T RunEngine<T>(Func<ITrainingObserver, CancellationToken, T> work, object? target = null)
    {
        using var cancellation = new CancellationTokenSource();
        _cancellation = cancellation;
        var dispatcher = new PipelineDispatcher();
        var observer = new DispatchingObserver(this, dispatcher);
        // Ctrl+C in a console reaches us as StopProcessing; a non-interactive pwsh (a service, a script run
        // by another program) gets SIGINT/SIGTERM as plain signals, which would otherwise kill it unsaved.
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // keep the process alive until the engine has saved
            dispatcher.Post(() => WriteWarning($"{context.Signal} received: finishing the current step, saving and stopping."));
            cancellation.Cancel();
        }
        using var sigterm = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        try
        {
            return dispatcher.Run(() => work(observer, cancellation.Token));
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

    /// <summary>
    /// Runs shorter engine work (checking, hashing) off the pipeline thread so it can show progress;
    /// <paramref name="work"/> gets a callback that posts progress records. Ctrl+C cancels the token and stops.
    /// </summary>
    protected T RunWithProgress<T>(Func<Action<ProgressRecord>, CancellationToken, T> work)
    {
        using var cancellation = new CancellationTokenSource();
        _cancellation = cancellation;
        var dispatcher = new PipelineDispatcher();
        try
        {
            return dispatcher.Run(() => work(record => dispatcher.Post(() => WriteProgress(record)), cancellation.Token));
        }
        catch (OperationCanceledException) when (Stopping || cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            _cancellation = null;
        }
    }

    private sealed class DispatchingObserver : ITrainingObserver
    {
        private readonly KohyaAsyncCmdlet _cmdlet;
        private readonly PipelineDispatcher _dispatcher;

        public DispatchingObserver(KohyaAsyncCmdlet cmdlet, PipelineDispatcher dispatcher)
        {
            _cmdlet = cmdlet;
            _dispatcher = dispatcher;
        }

        public void Progress(KohyaTrainingProgress progress) =>
            _dispatcher.Post(() => _cmdlet.WriteProgress(ProgressRecords.From(progress)));

        public void Warning(string message) => _dispatcher.Post(() => _cmdlet.WriteWarning(message));

        public void Verbose(string message) => _dispatcher.Post(() => _cmdlet.WriteVerbose(message));
    }
}
