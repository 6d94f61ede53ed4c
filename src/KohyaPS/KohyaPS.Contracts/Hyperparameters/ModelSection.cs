using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class ModelSection
{
    [Description("Model size: tiny (tests) and small (demo) train in pixel space with a word tokenizer; tiny-sd (tests) and sd15 (Stable Diffusion 1.5) are latent models: UNet, VAE and CLIP text encoder with CLIP's BPE tokenizer.")]
    [Impact(KohyaImpact.Incompatible, CaseInsensitive = true)]
    public string Preset { get; set; } = "small";

    [Description("Transformer layers of a seed-initialised text encoder (a model loaded from Model.Path has its own).")]
    [Impact(KohyaImpact.Incompatible)]
    public int TextEncoderLayers { get; set; } = 2;

    [Description("Caption length in tokens, special tokens included (CLIP: 77). A model loaded from Model.Path allows at most its text encoder's positions.")]
    [Impact(KohyaImpact.Incompatible)]
    public int MaxTokens { get; set; } = 16;

    [Description("Whether the text encoder is trained together with the UNet.")]
    [Impact(KohyaImpact.Incompatible)]
    public bool TrainTextEncoder { get; set; } = true;

    [Description("Stable Diffusion 1.x weights to start from, for the latent presets: a diffusers folder (unet/, vae/, text_encoder/, tokenizer/) or a single-file .safetensors checkpoint. Empty: the weights are initialised from Training.Seed. A resume may name the same weights at a new place (-Override); their hashes are checked.")]
    [Impact(KohyaImpact.Trajectory)]
    public string Path { get; set; } = "";

    [Description("A folder with CLIP's vocab.json and merges.txt, for a single-file Model.Path (which carries no tokenizer). Empty: the diffusers folder's tokenizer/, or CLIP's byte-level alphabet for a seed-initialised model. Checked by its identity on resume.")]
    [Impact(KohyaImpact.Trajectory)]
    public string TokenizerPath { get; set; } = "";

    public ModelSection Clone() => (ModelSection)MemberwiseClone();
}
