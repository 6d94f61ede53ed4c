using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class DiffusionSection
{
    [Description("epsilon or v_prediction.")]
    [Impact(KohyaImpact.Trajectory, CaseInsensitive = true)]
    public string PredictionType { get; set; } = "epsilon";

    [Description("linear or scaled_linear (Stable Diffusion's).")]
    [Impact(KohyaImpact.Trajectory, CaseInsensitive = true)]
    public string BetaSchedule { get; set; } = "scaled_linear";

    [Description("First beta of the schedule.")]
    [Impact(KohyaImpact.Trajectory)]
    public double BetaStart { get; set; } = 0.00085;

    [Description("Last beta of the schedule.")]
    [Impact(KohyaImpact.Trajectory)]
    public double BetaEnd { get; set; } = 0.012;

    [Description("Diffusion timesteps of the training schedule.")]
    [Impact(KohyaImpact.Trajectory)]
    public int NumTrainTimesteps { get; set; } = 1000;

    [Description("Offset noise strength (0 disables).")]
    [Impact(KohyaImpact.Trajectory)]
    public double NoiseOffset { get; set; }

    [Description("Min-SNR loss weighting gamma (0 disables; 5 is common).")]
    [Impact(KohyaImpact.Trajectory)]
    public double MinSnrGamma { get; set; }

    public DiffusionSection Clone() => (DiffusionSection)MemberwiseClone();
}
