using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class LRScheduleSection
{
    [Description("constant, constant_with_warmup, linear, cosine, cosine_with_restarts or polynomial.")]
    [Impact(KohyaImpact.Trajectory, CaseInsensitive = true)]
    public string Name { get; set; } = "constant";

    [Description("Optimizer steps of linear warm-up from 0 (not allowed with constant; must not exceed Training.MaxSteps).")]
    [Impact(KohyaImpact.Trajectory)]
    public int WarmupSteps { get; set; }

    [Description("Cycles of cosine_with_restarts.")]
    [Impact(KohyaImpact.Trajectory)]
    public int NumCycles { get; set; } = 1;

    [Description("Power of the polynomial schedule.")]
    [Impact(KohyaImpact.Trajectory)]
    public double Power { get; set; } = 1.0;

    [Description("Re-warm after a resume: the rate ramps from 1/RewarmSteps to the scheduled value over this many steps from RewarmStartStep; 0 disables. Resume-KohyaTraining -Rewarm sets it.")]
    [Impact(KohyaImpact.Trajectory)]
    public int RewarmSteps { get; set; }

    [Description("The cumulative step the re-warm starts from (the step of the checkpoint that was resumed with -Rewarm).")]
    [Impact(KohyaImpact.Trajectory)]
    public long RewarmStartStep { get; set; }

    public LRScheduleSection Clone() => (LRScheduleSection)MemberwiseClone();
}
