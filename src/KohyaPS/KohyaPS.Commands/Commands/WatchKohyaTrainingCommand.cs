using System.Globalization;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Monitoring;

namespace KohyaPS.Commands.Commands;

/// <summary>Follows a training running in another process or a job: a progress bar and its log records as they arrive.</summary>
[Cmdlet(VerbsCommon.Watch, "KohyaTraining")]
[OutputType(typeof(KohyaTrainingLogRecord))]
public sealed class WatchKohyaTrainingCommand : KohyaCmdlet
{
    private const int ActivityId = 4713;
    private static readonly TimeSpan StartGrace = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource _stop = new();

    /// <summary>The run folder of the training to follow (its -OutputPath).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "RunPath", "OutputPath")]
    public string Path { get; set; } = "";

    /// <summary>Stop watching after this many seconds (the training goes on); 0 waits until it ends.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Timeout { get; set; }

    /// <summary>How often the logs are read, in milliseconds.</summary>
    [Parameter]
    [ValidateRange(50, 60000)]
    public int PollIntervalMilliseconds { get; set; } = 250;

    protected override void StopProcessing() => _stop.Cancel();

    protected override void ProcessRecord()
    {
        string run = ResolveFileSystemPath(Path);
        var follower = CreateFollower(run);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var activity = $"Watching {System.IO.Path.GetFileName(follower)}";
        double? firstSeconds = null;
        long firstStep = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var update = PollFollower();
                foreach (var record in update.Records)
                {
                    if (firstSeconds is null) { firstSeconds = clock.Elapsed.TotalSeconds; firstStep = record.Step - 1; }
                    WriteObject(record);
                }
                WriteProgress(Progress(activity, update, update.Records.Count > 0 ? update.Records[^1] : null, clock.Elapsed.TotalSeconds, firstSeconds, firstStep));
                if (update.Finished)
                {
                    WriteVerbose($"Training of '{follower}' is over: {update.Reason} at step {update.LastStep}.");
                    return;
                }
                if (Timeout > 0 && clock.Elapsed.TotalSeconds >= Timeout)
                {
                    WriteError(ErrorRecordFactory.Create("WatchTimedOut", ErrorCategory.OperationTimeout,
                        $"Stopped watching '{follower}' after {Timeout} s at step {update.LastStep}; the training goes on.", follower,
                        "Watch again, or give a longer -Timeout (0 waits until the training ends)."));
                    return;
                }
                _stop.Token.WaitHandle.WaitOne(PollIntervalMilliseconds);
            }
            throw new PipelineStoppedException(); // Ctrl+C: the watch stops, the training goes on
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, run);
        }
        finally
        {
            if (!Stopping)
                WriteProgress(ProgressRecords.Completed(ActivityId, activity));
        }
    }

    private TrainingLogFollower? _follower;

    private string CreateFollower(string run)
    {
        try
        {
            return Create(run);
        }
        catch (Exception ex)
        {
            ThrowEngineError(ex, run);
            throw;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private string Create(string run)
    {
        _follower = new TrainingLogFollower(run, StartGrace);
        return _follower.RunPath;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private FollowUpdate PollFollower() => _follower!.Poll();

    private static ProgressRecord Progress(string activity, FollowUpdate update, KohyaTrainingLogRecord? last, double seconds, double? firstSeconds, long firstStep)
    {
        string status = update.TargetStep is { } target
            ? FormattableString.Invariant($"step {update.LastStep}/{target}")
            : FormattableString.Invariant($"step {update.LastStep}, waiting for the training to start");
        if (last is not null)
            status += FormattableString.Invariant($"  loss {last.Loss:0.0000}  lr {last.LearningRate:0.###e+0}");
        var record = new ProgressRecord(ActivityId, activity, status);
        if (update.TargetStep is { } t && t > 0)
        {
            record.PercentComplete = (int)Math.Clamp(update.LastStep * 100 / t, 0, 100);
            double rate = firstSeconds is { } f && seconds > f ? (update.LastStep - firstStep) / (seconds - f) : 0;
            if (rate > 0)
            {
                double remaining = (t - update.LastStep) / rate;
                record.SecondsRemaining = (int)Math.Min(int.MaxValue, Math.Max(0, remaining));
                record.StatusDescription += "  ETA " + TimeSpan.FromSeconds(Math.Max(0, remaining)).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
            }
        }
        return record;
    }
}
