using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class ResourcesSection
{
    [Description("CPU threads for libtorch; 0 means all logical processors. Exact resume needs the same count.")]
    [Impact(KohyaImpact.Trajectory)]
    public int Threads { get; set; }

    [Description("cpu or cuda (cuda:N).")]
    [Impact(KohyaImpact.Trajectory, CaseInsensitive = true)]
    public string Device { get; set; } = "cpu";

    [Description("float32, bfloat16 or float16. bfloat16/float16 compute in that dtype with float32 master weights (checkpoints stay float32); float16 scales the loss dynamically and needs CUDA.")]
    [Impact(KohyaImpact.Trajectory, CaseInsensitive = true)]
    public string Dtype { get; set; } = "float32";

    [Description("Recompute each UNet block in backward instead of keeping its activations: less memory, about one more forward pass per step; gradients are bitwise the same.")]
    [Impact(KohyaImpact.Cosmetic)]
    public bool GradientCheckpointing { get; set; }

    public ResourcesSection Clone() => (ResourcesSection)MemberwiseClone();
}
