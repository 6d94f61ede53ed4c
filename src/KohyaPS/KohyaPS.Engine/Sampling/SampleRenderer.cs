using System.Text.Json;
using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Diffusion;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Sampling;

/// <summary>Where the images of a sampling pass come from and go.</summary>
/// <param name="OutputDirectory">Folder for the PNGs, <c>grid.png</c> and <c>samples.json</c>; created when missing.</param>
/// <param name="Checkpoint">The checkpoint folder the weights came from (empty during training).</param>
/// <param name="Step">The cumulative training step of the weights.</param>
public sealed record SampleTarget(string OutputDirectory, string Checkpoint, long Step);

/// <summary>Progress of a sampling pass: <paramref name="Done"/> images of <paramref name="Total"/>, the next one being <paramref name="Job"/>.</summary>
public sealed record SampleProgress(int Done, int Total, SampleJob? Job);

/// <summary>
/// Draws images with a model: noise from the job's seed through its own CPU generator (never the global one),
/// the job's sampler and guidance, x0 to PNG; then a grid of all images and a JSON index of the records. The
/// model is switched to eval mode under <c>no_grad</c> and put back into the mode it was in; the global random
/// state, gradients and weights are left exactly as they were. Same job, same weights, same thread count →
/// the same bytes.
/// </summary>
public static class SampleRenderer
{
    public const string GridFile = "grid.png";
    public const string IndexFile = "samples.json";

    /// <summary>
    /// The image in [-1, 1] for one job, shaped [1, 3, H, W]: x0 itself for a pixel model; for a latent model the
    /// sampler works on latents of H/f × W/f (f the VAE's downsampling) and the VAE decodes its result.
    /// </summary>
    public static Tensor Generate(TrainingModel model, NoiseSchedule schedule, PredictionType prediction, SampleJob job)
    {
        CheckSize(model, job);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var generator = new Generator(unchecked((ulong)job.Seed), CPU);
        int f = model.SpatialFactor;
        var noise = randn(new long[] { 1, model.UNet.Config.InChannels, job.Height / f, job.Width / f }, dtype: ScalarType.Float32, generator: generator)
            .to(model.Device);
        using var denoiser = new GuidedDenoiser(model, job.Prompt, job.NegativePrompt, job.GuidanceScale);
        var sampler = DiffusionSampler.Create(job.Sampler, schedule, prediction, job.Steps);
        var x0 = sampler.Sample(noise, denoiser.Predict, generator);
        return model.ToImages(x0).clamp(-1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Draws every job into <paramref name="target"/>; stops between images when cancelled.</summary>
    public static IReadOnlyList<KohyaSample> Render(TrainingModel model, NoiseSchedule schedule, PredictionType prediction,
        IReadOnlyList<SampleJob> jobs, SampleTarget target, Action<SampleProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (jobs.Count == 0)
            throw new KohyaException("SamplePromptsMissing", KohyaErrorKind.InvalidArgument, "There is nothing to sample: no prompts.", target: target.OutputDirectory);
        foreach (var job in jobs) CheckSize(model, job);
        Directory.CreateDirectory(target.OutputDirectory);
        bool unetTraining = model.UNet.training, textTraining = model.TextEncoder.training;
        var samples = new List<KohyaSample>();
        var images = new List<RgbImage>();
        try
        {
            model.UNet.eval();
            model.TextEncoder.eval();
            using var noGrad = torch.no_grad();
            for (int n = 0; n < jobs.Count; n++)
            {
                var job = jobs[n];
                progress?.Invoke(new SampleProgress(n, jobs.Count, job));
                cancellation.ThrowIfCancellationRequested();
                RgbImage image;
                using (var x0 = Generate(model, schedule, prediction, job))
                    image = SampleImages.ToImage(x0);
                string path = Path.Combine(target.OutputDirectory, job.FileName);
                PngWriter.Write(path, image);
                images.Add(image);
                samples.Add(Record(job, path, target));
            }
        }
        finally
        {
            model.UNet.train(unetTraining);
            model.TextEncoder.train(textTraining);
        }
        var rows = jobs.Select((job, i) => (job, image: images[i])).GroupBy(p => p.job.PromptIndex)
            .Select(g => (IReadOnlyList<RgbImage>)g.Select(p => p.image).ToList()).ToList();
        PngWriter.Write(Path.Combine(target.OutputDirectory, GridFile), SampleImages.Grid(rows));
        File.WriteAllText(Path.Combine(target.OutputDirectory, IndexFile), JsonSerializer.Serialize(samples, new JsonSerializerOptions { WriteIndented = true }));
        progress?.Invoke(new SampleProgress(jobs.Count, jobs.Count, null));
        return samples;
    }

    private static KohyaSample Record(SampleJob job, string path, SampleTarget target) => new()
    {
        Path = path,
        Prompt = job.Prompt,
        NegativePrompt = job.NegativePrompt,
        Seed = job.Seed,
        Sampler = SamplerNames.NameOf(job.Sampler),
        Steps = job.Steps,
        GuidanceScale = job.GuidanceScale,
        Width = job.Width,
        Height = job.Height,
        Checkpoint = target.Checkpoint,
        Step = target.Step,
        Index = job.Index,
    };

    /// <summary>The VAE divides the size by its factor and the UNet halves it once per down block but the last: the size must divide by both.</summary>
    private static void CheckSize(TrainingModel model, SampleJob job)
    {
        int factor = model.SizeMultiple;
        if (job.Width < factor || job.Height < factor || job.Width % factor != 0 || job.Height % factor != 0)
            throw new KohyaException("SampleSizeInvalid", KohyaErrorKind.InvalidArgument,
                $"{job.Width}x{job.Height} does not fit the model: width and height must be multiples of {factor}.", target: $"{job.Width}x{job.Height}");
    }
}
