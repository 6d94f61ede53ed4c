using KohyaPS.Contracts;
using KohyaPS.Engine.Optim;

namespace KohyaPS.Engine.Training;

/// <summary>
/// The learning rate of every optimizer step, as a pure function of the cumulative step (no scheduler
/// state to save or restore), with an optional re-warm ramp after a resume.
/// </summary>
public sealed class LearningRatePlan
{
    private readonly LrScheduleSettings _settings;
    private readonly long _totalSteps;

    public LearningRatePlan(KohyaHyperparameterSet hp, long rewarmSteps = 0, long resumedAtStep = 0)
    {
        string name = hp.LRSchedule.Name;
        _settings = new LrScheduleSettings
        {
            Name = name,
            LearningRate = hp.Optimizer.LearningRate,
            WarmupSteps = hp.LRSchedule.WarmupSteps,
            NumCycles = name == LrSchedule.CosineWithRestarts ? hp.LRSchedule.NumCycles : null,
            Power = name == LrSchedule.Polynomial ? hp.LRSchedule.Power : null,
        };
        _totalSteps = hp.Training.MaxSteps;
        try
        {
            _settings.Validate(_totalSteps);
        }
        catch (KohyaException ex)
        {
            // Name the option as users write it in the hyperparameter set.
            string option = ex.Target switch
            {
                "LearningRate" => "Optimizer.LearningRate",
                "TotalSteps" => "Training.MaxSteps",
                string option2 => "LRSchedule." + option2,
                _ => "LRSchedule",
            };
            throw new KohyaException(ex.ErrorId, ex.Kind, $"{option}: {ex.Message}", ex, option) { RecommendedAction = ex.RecommendedAction };
        }
        // An explicit re-warm wins; otherwise the set's (written by Resume-KohyaTraining -Rewarm, so a run interrupted
        // during the ramp continues it exactly).
        RewarmSteps = rewarmSteps > 0 ? rewarmSteps : hp.LRSchedule.RewarmSteps;
        ResumedAtStep = rewarmSteps > 0 ? resumedAtStep : hp.LRSchedule.RewarmStartStep;
    }

    public long RewarmSteps { get; }

    public long ResumedAtStep { get; }

    /// <summary>The rate for the update that follows <paramref name="stepsDone"/> completed steps.</summary>
    public double At(long stepsDone)
    {
        double scheduled = LrSchedule.Compute(_settings, stepsDone, _totalSteps);
        return RewarmSteps > 0 && stepsDone >= ResumedAtStep ? LrSchedule.WithRewarm(scheduled, stepsDone - ResumedAtStep, RewarmSteps) : scheduled;
    }
}
