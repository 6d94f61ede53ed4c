using System.Management.Automation;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Commands.Jobs;

/// <summary>
/// A training running on a background thread as a PowerShell job: Get-Job shows it, Receive-Job returns
/// its progress, warnings and result, Stop-Job asks it to finish the current step, save and stop (and
/// waits until it has).
/// </summary>
public sealed class KohyaTrainingJob : Job
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly Func<ITrainingObserver, CancellationToken, KohyaTrainingResult> _work;
    private string _status = "Queued";

    internal KohyaTrainingJob(string command, string name, Func<ITrainingObserver, CancellationToken, KohyaTrainingResult> work)
        : base(command, name)
    {
        _work = work;
        PSJobTypeName = "KohyaTrainingJob";
    }

    public override string StatusMessage => _status;

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Progress.Count > 0 || Verbose.Count > 0;

    public override string Location => Environment.MachineName;

    internal void Start()
    {
        SetJobState(JobState.Running);
        Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public override void StopJob()
    {
        if (IsFinishedState(JobStateInfo.State))
            return;
        _status = "Stopping: finishing the step and saving";
        _cancellation.Cancel();
        Finished.WaitOne();
    }

    private void Run()
    {
        try
        {
            var result = _work(new JobObserver(this), _cancellation.Token);
            Output.Add(PSObject.AsPSObject(result));
            _status = result.Status;
            SetJobState(_cancellation.IsCancellationRequested ? JobState.Stopped : JobState.Completed);
        }
        catch (Exception ex)
        {
            Error.Add(ErrorRecordFactory.FromException(ex));
            _status = ex.Message;
            SetJobState(JobState.Failed);
        }
    }

    private static bool IsFinishedState(JobState state) =>
        state is JobState.Completed or JobState.Failed or JobState.Stopped;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _cancellation.Dispose();
        base.Dispose(disposing);
    }

    private sealed class JobObserver : ITrainingObserver
    {
        private readonly KohyaTrainingJob _job;

        public JobObserver(KohyaTrainingJob job) => _job = job;

        public void Progress(KohyaTrainingProgress progress)
        {
            _job._status = $"step {progress.Step}/{progress.TargetStep}";
            _job.Progress.Add(ProgressRecords.From(progress));
        }

        public void Warning(string message) => _job.Warning.Add(new WarningRecord(message));

        public void Verbose(string message) => _job.Verbose.Add(new VerboseRecord(message));
    }
}
