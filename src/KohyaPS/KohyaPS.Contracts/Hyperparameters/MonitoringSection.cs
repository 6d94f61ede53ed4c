using System.ComponentModel;

namespace KohyaPS.Contracts;

/// <summary>
/// Loss guards and validation: what watches a run while it trains and what it may do (warn, roll back to the
/// last good checkpoint, stop). None of these change a step's arithmetic; they decide whether a run goes on.
/// </summary>
public sealed class MonitoringSection
{
    [Description("Write a loss record every N optimizer steps (this version logs every step; other values are kept but not acted on).")]
    [Impact(KohyaImpact.Cosmetic)]
    public int LogEveryNSteps { get; set; } = 1;

    [Description("Robust z-score above which a step's loss is a spike: (loss - rolling median) / (1.4826 x median absolute deviation) over LossSpikeWindow steps; 0 disables the guard.")]
    [Impact(KohyaImpact.Cosmetic)]
    public double LossSpikeThreshold { get; set; } = 10;

    [Description("Optimizer steps in the rolling window the spike, non-finite and resume-jump guards compare with.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int LossSpikeWindow { get; set; } = 50;

    [Description("What a loss spike does: warn, rollback (restore the last checkpoint saved before it and scale the learning rate by RollbackLearningRateFactor), or stop (save and stop).")]
    [Impact(KohyaImpact.Cosmetic, CaseInsensitive = true)]
    public string LossSpikeAction { get; set; } = "warn";

    [Description("A step whose loss or gradients are NaN/Inf is skipped (no update); after this many such steps within LossSpikeWindow steps the run rolls back; 0 only skips.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int NonFiniteRollbackAfter { get; set; } = 3;

    [Description("Factor applied to the learning rate at every rollback (cumulative, saved with the run).")]
    [Impact(KohyaImpact.Cosmetic)]
    public double RollbackLearningRateFactor { get; set; } = 0.5;

    [Description("Rollbacks allowed in one run; one more trouble after that stops the run.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int MaxRollbacks { get; set; } = 3;

    [Description("After a resume, the mean loss of the first ResumeJumpSteps steps is compared with the window before the interruption; a robust z-score above this is a jump. 0 disables.")]
    [Impact(KohyaImpact.Cosmetic)]
    public double ResumeJumpThreshold { get; set; } = 6;

    [Description("Steps after a resume whose mean loss the resume-jump guard judges.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int ResumeJumpSteps { get; set; } = 10;

    [Description("What a jump after a resume does: warn or stop.")]
    [Impact(KohyaImpact.Cosmetic, CaseInsensitive = true)]
    public string ResumeJumpAction { get; set; } = "warn";

    [Description("Plateau guard: the mean loss of the last PlateauSteps steps is compared with the PlateauSteps before; 0 disables.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int PlateauSteps { get; set; }

    [Description("Relative improvement below which the plateau guard fires (0.01 = the mean loss fell by less than 1%).")]
    [Impact(KohyaImpact.Cosmetic)]
    public double PlateauMinDelta { get; set; } = 0.01;

    [Description("What a plateau does: warn or stop.")]
    [Impact(KohyaImpact.Cosmetic, CaseInsensitive = true)]
    public string PlateauAction { get; set; } = "warn";

    [Description("Compute the validation loss (fixed timesteps and noise from the run's seed) on the held-out images every N optimizer steps; 0 disables. Needs Data.ValidationSplit or Data.ValidationPath.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int ValidateEveryNSteps { get; set; }

    [Description("Timesteps per validation image, spread evenly over the noise schedule.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int ValidationTimesteps { get; set; } = 4;

    [Description("Early stopping: stop after this many validations in a row without an improvement of more than EarlyStoppingMinDelta; 0 disables.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int EarlyStoppingPatience { get; set; }

    [Description("The least decrease of the validation loss that counts as an improvement.")]
    [Impact(KohyaImpact.Cosmetic)]
    public double EarlyStoppingMinDelta { get; set; }

    public MonitoringSection Clone() => (MonitoringSection)MemberwiseClone();
}
