using System.Diagnostics;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Training;

/// <summary>Turns step reports into <see cref="KohyaTrainingProgress"/>: smoothed loss, it/s and ETA.</summary>
public sealed class ProgressHook : ITrainingHook
{
    private const double Smoothing = 0.9;
    private readonly ITrainingObserver _observer;
    private readonly Stopwatch _clock = new();
    private double _smoothed = double.NaN;
    private long _startStep;

    public ProgressHook(ITrainingObserver observer)
    {
        _observer = observer;
    }

    public void OnRunStarted(TrainingContext context)
    {
        _startStep = context.State.GlobalStep;
        _clock.Restart();
        _observer.Progress(Snapshot(context, context.State.GlobalStep, 0, 0, "Preparing"));
    }

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        _smoothed = double.IsNaN(_smoothed) || !double.IsFinite(_smoothed)
            ? report.Loss
            : Smoothing * _smoothed + (1 - Smoothing) * report.Loss;
        _observer.Progress(Snapshot(context, report.Step, report.Loss, report.LearningRate, "Training", report.Epoch));
    }

    public void OnRunEnded(TrainingContext context, string status) =>
        _observer.Progress(Snapshot(context, context.State.GlobalStep, _smoothed, 0, "Completed"));

    private KohyaTrainingProgress Snapshot(TrainingContext context, long step, double loss, double lr, string phase, int? epoch = null)
    {
        double seconds = _clock.Elapsed.TotalSeconds;
        long done = step - _startStep;
        double rate = seconds > 0 ? done / seconds : 0;
        TimeSpan? remaining = rate > 0 ? TimeSpan.FromSeconds((context.TargetStep - step) / rate) : null;
        return new KohyaTrainingProgress
        {
            RunName = context.RunName,
            Step = step,
            StartStep = _startStep,
            TargetStep = context.TargetStep,
            Epoch = epoch ?? context.State.Epoch,
            Loss = loss,
            SmoothedLoss = double.IsNaN(_smoothed) ? loss : _smoothed,
            LearningRate = lr,
            StepsPerSecond = rate,
            Elapsed = _clock.Elapsed,
            Remaining = remaining,
            Phase = phase,
        };
    }
}
