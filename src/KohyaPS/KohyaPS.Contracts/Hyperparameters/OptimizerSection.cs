using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class OptimizerSection
{
    [Description("AdamW, Adam, SGD or Lion.")]
    [Impact(KohyaImpact.Incompatible, CaseInsensitive = true)]
    public string Type { get; set; } = "AdamW";

    [Description("Base learning rate; the schedule scales it.")]
    [Impact(KohyaImpact.Trajectory)]
    public double LearningRate { get; set; } = 1e-3;

    [Description("First moment decay (Lion: update interpolation); empty means the optimizer's default (0.9).")]
    [Impact(KohyaImpact.Trajectory)]
    public double? Beta1 { get; set; }

    [Description("Second moment decay (Lion: momentum decay); empty means the optimizer's default (0.999, Lion 0.99).")]
    [Impact(KohyaImpact.Trajectory)]
    public double? Beta2 { get; set; }

    [Description("Added to the denominator for numerical stability (Adam, AdamW only).")]
    [Impact(KohyaImpact.Trajectory)]
    public double Epsilon { get; set; } = 1e-8;

    [Description("Weight decay (decoupled for AdamW and Lion, L2 for Adam and SGD); empty means the optimizer's default (AdamW 0.01, others 0).")]
    [Impact(KohyaImpact.Trajectory)]
    public double? WeightDecay { get; set; }

    [Description("SGD momentum.")]
    [Impact(KohyaImpact.Trajectory)]
    public double Momentum { get; set; }

    [Description("SGD Nesterov momentum.")]
    [Impact(KohyaImpact.Trajectory)]
    public bool Nesterov { get; set; }

    [Description("Clip the total gradient norm to this value; 0 disables clipping.")]
    [Impact(KohyaImpact.Trajectory)]
    public double MaxGradNorm { get; set; } = 1.0;

    public OptimizerSection Clone() => (OptimizerSection)MemberwiseClone();
}
