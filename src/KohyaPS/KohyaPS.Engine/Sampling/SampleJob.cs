using KohyaPS.Contracts;

namespace KohyaPS.Engine.Sampling;

/// <summary>One image to draw, every setting resolved.</summary>
public sealed record SampleJob(string Prompt, string NegativePrompt, long Seed, int Width, int Height, int Steps, double GuidanceScale,
    SamplerKind Sampler, int PromptIndex, int Index)
{
    /// <summary>The PNG's file name: prompt number, then seed (both fixed by the job, so reruns overwrite the same files).</summary>
    public string FileName => $"{PromptIndex:D3}-{Seed}.png";
}

/// <summary>
/// The settings a prompt line falls back to for what it does not say. Built from a run's Sampling section
/// (<see cref="From"/>), then overridden by the caller's own choices; a line's options win over both.
/// </summary>
public sealed record SampleDefaults
{
    public SamplerKind Sampler { get; init; } = SamplerKind.Ddim;
    public int Steps { get; init; } = 30;
    public double GuidanceScale { get; init; } = 7.5;
    public int Width { get; init; }
    public int Height { get; init; }
    public long Seed { get; init; }
    public string NegativePrompt { get; init; } = "";

    /// <summary>
    /// A run's defaults: its Sampling section, the training resolution for size 0, Training.Seed for no seed;
    /// <paramref name="sampler"/>, when given, replaces Sampling.Sampler (which is then not checked).
    /// </summary>
    public static SampleDefaults From(KohyaHyperparameterSet hp, string? sampler = null) => new()
    {
        Sampler = sampler is not null ? SamplerNames.Parse(sampler) : SamplerNames.Parse(hp.Sampling.Sampler, "Sampling.Sampler"),
        Steps = hp.Sampling.Steps,
        GuidanceScale = hp.Sampling.GuidanceScale,
        Width = hp.Sampling.Width > 0 ? hp.Sampling.Width : hp.Data.Resolution,
        Height = hp.Sampling.Height > 0 ? hp.Sampling.Height : hp.Data.Resolution,
        Seed = hp.Sampling.Seed ?? hp.Training.Seed,
    };

    /// <summary>
    /// <paramref name="count"/> jobs per prompt, with seeds seed, seed+1, …; the prompt's own options win.
    /// </summary>
    public IReadOnlyList<SampleJob> Jobs(IReadOnlyList<SamplePrompt> prompts, int count)
    {
        if (count < 1)
            throw new KohyaException("InvalidSampleCount", KohyaErrorKind.InvalidArgument, $"The number of images per prompt must be at least 1 (got {count}).", target: "Count");
        var jobs = new List<SampleJob>();
        for (int p = 0; p < prompts.Count; p++)
        {
            var line = prompts[p];
            long seed = line.Seed ?? Seed;
            for (int i = 0; i < count; i++)
                jobs.Add(new SampleJob(line.Prompt, line.NegativePrompt ?? NegativePrompt, seed + i, line.Width ?? Width, line.Height ?? Height,
                    line.Steps ?? Steps, line.GuidanceScale ?? GuidanceScale, Sampler, p, i));
        }
        return jobs;
    }
}
