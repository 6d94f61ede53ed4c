using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class NetworkSection
{
    [Description("none (train the model's own weights) or lora (low-rank adapters; not trainable in this version).")]
    [Impact(KohyaImpact.Incompatible, CaseInsensitive = true)]
    public string Type { get; set; } = "none";

    [Description("LoRA rank (kohya network_dim).")]
    [Impact(KohyaImpact.Incompatible)]
    public int Dim { get; set; } = 4;

    [Description("LoRA alpha; the update is scaled by Alpha / Dim. 0 means Alpha = Dim (kohya's convention).")]
    [Impact(KohyaImpact.Incompatible)]
    public double Alpha { get; set; } = 1.0;

    [Description("Module classes that get LoRA layers; empty means the standard set (the UNet's transformer blocks, the text encoder's attention and MLP).")]
    [Impact(KohyaImpact.Incompatible)]
    public string[] TargetModules { get; set; } = Array.Empty<string>();

    [Description("Learning rate of the UNet's LoRA layers; empty means Optimizer.LearningRate.")]
    [Impact(KohyaImpact.Trajectory)]
    public double? UnetLearningRate { get; set; }

    [Description("Learning rate of the text encoder's LoRA layers; empty means Optimizer.LearningRate.")]
    [Impact(KohyaImpact.Trajectory)]
    public double? TextEncoderLearningRate { get; set; }

    public NetworkSection Clone()
    {
        var copy = (NetworkSection)MemberwiseClone();
        copy.TargetModules = TargetModules?.ToArray() ?? Array.Empty<string>();
        return copy;
    }
}
