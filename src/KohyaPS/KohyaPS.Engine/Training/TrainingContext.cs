using KohyaPS.Contracts;
using KohyaPS.Engine.Diffusion;
using KohyaPS.Engine.Monitoring.Guards;
using KohyaPS.Engine.Optim;

namespace KohyaPS.Engine.Training;

/// <summary>The live run as hooks see it: identity, settings, state, model, optimizer, data.</summary>
public sealed class TrainingContext
{
    public TrainingContext(RunIdentity identity, KohyaHyperparameterSet hyperparameters, TrainingState state,
        TrainingModel model, KohyaOptimizer optimizer, LearningRatePlan learningRate, TrainingData data, DiffusionLoss objective,
        ITrainingObserver observer, MonitorState? monitors = null, FaultInjection? faults = null)
    {
        Identity = identity;
        Hyperparameters = hyperparameters;
        State = state;
        Model = model;
        Optimizer = optimizer;
        LearningRate = learningRate;
        Data = data;
        Objective = objective;
        Observer = observer;
        Monitors = monitors ?? new MonitorState();
        Faults = faults ?? FaultInjection.None;
        Inputs = new ModelInputs(data, model);
    }

    /// <summary>Where each step's clean tensor and captions come from (the latent cache, when the run has one).</summary>
    public ModelInputs Inputs { get; internal set; }

    public RunIdentity Identity { get; private set; }
    public string RunName => Identity.RunName;
    public string RunDirectory => Identity.RunDirectory;
    public string SegmentId => Identity.SegmentId;
    public KohyaHyperparameterSet Hyperparameters { get; }
    public TrainingState State { get; }
    public TrainingModel Model { get; }
    public KohyaOptimizer Optimizer { get; }
    public LearningRatePlan LearningRate { get; }
    public TrainingData Data { get; }
    public DiffusionLoss Objective { get; }
    public ITrainingObserver Observer { get; }

    /// <summary>The guards' and validation's memory (saved in every checkpoint).</summary>
    public MonitorState Monitors { get; }

    /// <summary>Faults a test asked for (KOHYAPS_TEST_FAULTS); <see cref="FaultInjection.None"/> otherwise.</summary>
    public FaultInjection Faults { get; }

    /// <summary>The rate of the update after <paramref name="stepsDone"/> steps: the schedule times the rollback scale.</summary>
    public double LearningRateAt(long stepsDone) => LearningRate.At(stepsDone) * Monitors.LearningRateScale;

    /// <summary>Set by a guard: roll back to a checkpoint before a step once the current step's hooks have run.</summary>
    public RollbackRequest? RollbackRequest { get; private set; }

    public void RequestRollback(RollbackRequest request) => RollbackRequest ??= request;

    internal RollbackRequest? TakeRollbackRequest()
    {
        var request = RollbackRequest;
        RollbackRequest = null;
        return request;
    }

    /// <summary>Set by a hook that wants the current state saved now (the reason becomes the checkpoint's reason).</summary>
    public string? SaveRequest { get; private set; }

    public void RequestSave(string reason) => SaveRequest ??= reason;

    internal string? TakeSaveRequest()
    {
        var request = SaveRequest;
        SaveRequest = null;
        return request;
    }

    /// <summary>Starts a new segment of the run's history inside this process (after a rollback).</summary>
    internal void BeginSegment(string segmentId, DateTime startedUtc) =>
        Identity = Identity with { SegmentId = segmentId, SegmentStartedUtc = startedUtc };

    /// <summary>The cumulative step this segment trains to.</summary>
    public long TargetStep => Hyperparameters.Training.MaxSteps;

    /// <summary>Set by a hook to end the run after the current step; the reason is reported.</summary>
    public string? StopRequest { get; private set; }

    public void RequestStop(string reason) => StopRequest ??= reason;

    /// <summary>Scalars measured beside the per-step loss (val_loss, …); log and TensorBoard hooks subscribe.</summary>
    public event Action<MetricReport>? MetricReported;

    /// <summary>Monitor events (spikes, rollbacks, early stop, …); log hooks and the result subscribe.</summary>
    public event Action<KohyaTrainingEvent>? EventRaised;

    /// <summary>Publishes a named scalar for the current cumulative step.</summary>
    public void ReportMetric(string name, double value) => MetricReported?.Invoke(new MetricReport(State.GlobalStep, name, value));

    /// <summary>Publishes a monitor event.</summary>
    public void RaiseEvent(KohyaTrainingEvent trainingEvent) => EventRaised?.Invoke(trainingEvent);
}

/// <summary>A named scalar measured at a step (TensorBoard tag and log field name, e.g. <c>val_loss</c>).</summary>
public sealed record MetricReport(long Step, string Name, double Value);

/// <summary>Which run this is and which segment of it (a fresh start or one resume) is running.</summary>
public sealed record RunIdentity(string RunName, string RunDirectory, string RunId, string SegmentId, DateTime SegmentStartedUtc);
