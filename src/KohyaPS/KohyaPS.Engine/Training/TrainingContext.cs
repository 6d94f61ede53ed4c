using KohyaPS.Contracts;
using KohyaPS.Engine.Diffusion;
using KohyaPS.Engine.Optim;

namespace KohyaPS.Engine.Training;

/// <summary>The live run as hooks see it: identity, settings, state, model, optimizer, data.</summary>
public sealed class TrainingContext
{
    public TrainingContext(RunIdentity identity, KohyaHyperparameterSet hyperparameters, TrainingState state,
        TrainingModel model, KohyaOptimizer optimizer, LearningRatePlan learningRate, TrainingData data, DiffusionLoss objective,
        ITrainingObserver observer)
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
    }

    public RunIdentity Identity { get; }
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

    /// <summary>The cumulative step this segment trains to.</summary>
    public long TargetStep => Hyperparameters.Training.MaxSteps;

    /// <summary>Set by a hook to end the run after the current step; the reason is reported.</summary>
    public string? StopRequest { get; private set; }

    public void RequestStop(string reason) => StopRequest ??= reason;
}

/// <summary>Which run this is and which segment of it (a fresh start or one resume) is running.</summary>
public sealed record RunIdentity(string RunName, string RunDirectory, string RunId, string SegmentId, DateTime SegmentStartedUtc);
