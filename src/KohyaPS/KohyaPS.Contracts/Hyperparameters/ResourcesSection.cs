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

    [Description("float32 (bf16/fp16 mixed precision comes with the SD issue).")]
    [Impact(KohyaImpact.Trajectory, CaseInsensitive = true)]
    public string Dtype { get; set; } = "float32";

    public ResourcesSection Clone() => (ResourcesSection)MemberwiseClone();
}
