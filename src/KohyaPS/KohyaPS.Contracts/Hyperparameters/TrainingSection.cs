using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class TrainingSection
{
    [Description("Optimizer steps to train, counted across resumes (cumulative).")]
    [Impact(KohyaImpact.Trajectory)]
    public long MaxSteps { get; set; } = 300;

    [Description("Seed of weights, data order, noise and augmentation.")]
    [Impact(KohyaImpact.Trajectory)]
    public long Seed { get; set; } = 42;

    public TrainingSection Clone() => (TrainingSection)MemberwiseClone();
}
