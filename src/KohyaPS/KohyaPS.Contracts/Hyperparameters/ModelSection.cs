using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class ModelSection
{
    [Description("UNet size: tiny (tests), small (demo) or sd15 (Stable Diffusion 1.5).")]
    [Impact(KohyaImpact.Incompatible, CaseInsensitive = true)]
    public string Preset { get; set; } = "small";

    [Description("Transformer layers of the demo text encoder.")]
    [Impact(KohyaImpact.Incompatible)]
    public int TextEncoderLayers { get; set; } = 2;

    [Description("Maximum caption length in tokens, including the begin token.")]
    [Impact(KohyaImpact.Incompatible)]
    public int MaxTokens { get; set; } = 16;

    [Description("Whether the text encoder is trained together with the UNet.")]
    [Impact(KohyaImpact.Incompatible)]
    public bool TrainTextEncoder { get; set; } = true;

    public ModelSection Clone() => (ModelSection)MemberwiseClone();
}
