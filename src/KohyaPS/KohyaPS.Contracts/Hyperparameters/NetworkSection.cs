using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class NetworkSection
{
    [Description("none (train the model's own weights) or lora (low-rank adapters on a frozen base; only the adapters are trained and saved).")]
    [Impact(KohyaImpact.Incompatible, CaseInsensitive = true)]
    public string Type { get; set; } = "none";

    [Description("LoRA rank (kohya network_dim).")]
    [Impact(KohyaImpact.Incompatible)]
    public int Dim { get; set; } = 4;

    [Description("LoRA alpha; the update is scaled by Alpha / Dim. 0 means Alpha = Dim (kohya's convention).")]
    [Impact(KohyaImpact.Incompatible)]
    public double Alpha { get; set; } = 1.0;

    [Description("Where LoRA layers go: attention (to_q/k/v, to_out.0), feedforward (ff.net.0.proj, ff.net.2), projection (proj_in/out), conv (ResNet and resampler convolutions), text_attention (q/k/v/out_proj), text_mlp (fc1/fc2); kohya's class names Transformer2DModel, CLIPAttention and CLIPMLP are accepted too. Empty means kohya's standard set: attention, feedforward, projection, and with Model.TrainTextEncoder text_attention and text_mlp.")]
    [Impact(KohyaImpact.Incompatible)]
    public string[] TargetModules { get; set; } = Array.Empty<string>();

    [Description("Dropout on the LoRA layers' rank-space activations while training (kohya's dropout), 0 to 1; drawn from the step's seed, so a resumed run repeats it exactly.")]
    [Impact(KohyaImpact.Trajectory)]
    public double Dropout { get; set; }

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
