using System.ComponentModel;

namespace KohyaPS.Contracts;

/// <summary>Sample images drawn while training (kohya's sample_* options) into &lt;run&gt;/samples/&lt;step&gt;/; also Invoke-KohyaSample's defaults.</summary>
public sealed class SamplingSection
{
    [Description("A kohya prompts file: one prompt per line, options after ' --' (--n negative, --w, --h, --d seed, --s steps, --l guidance); '#' starts a comment. Empty: use Prompts.")]
    [Impact(KohyaImpact.Cosmetic)]
    public string PromptsFile { get; set; } = "";

    [Description("Prompts given inline, one per entry, in the prompts-file line format; used when PromptsFile is empty.")]
    [Impact(KohyaImpact.Cosmetic)]
    public string[] Prompts { get; set; } = Array.Empty<string>();

    [Description("Draw samples every N optimizer steps; 0 disables.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int SampleEveryNSteps { get; set; }

    [Description("Draw samples at the end of every N epochs; 0 disables.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int SampleEveryNEpochs { get; set; }

    [Description("Sampler: ddpm, ddim, euler or k_euler (drawn by KohyaPS); kohya's other names (pndm, lms, euler_a, heun, dpm_2, dpm_2_a, dpmsolver, dpmsolver++, dpmsingle, k_lms, k_euler_a, k_dpm_2, k_dpm_2_a) are kept in sets but refused with SamplerNotSupported when sampling.")]
    [Impact(KohyaImpact.Cosmetic, CaseInsensitive = true)]
    public string Sampler { get; set; } = "ddim";

    [Description("Denoising steps per sample, unless a prompt says --s.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int Steps { get; set; } = 30;

    [Description("Classifier-free guidance scale, unless a prompt says --l.")]
    [Impact(KohyaImpact.Cosmetic)]
    public double GuidanceScale { get; set; } = 7.5;

    [Description("Sample width in pixels, unless a prompt says --w; 0 means Data.Resolution.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int Width { get; set; }

    [Description("Sample height in pixels, unless a prompt says --h; 0 means Data.Resolution.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int Height { get; set; }

    [Description("Seed of the sample noise, unless a prompt says --d; empty means Training.Seed.")]
    [Impact(KohyaImpact.Cosmetic)]
    public long? Seed { get; set; }

    public SamplingSection Clone()
    {
        var copy = (SamplingSection)MemberwiseClone();
        copy.Prompts = Prompts?.ToArray() ?? Array.Empty<string>();
        return copy;
    }
}
