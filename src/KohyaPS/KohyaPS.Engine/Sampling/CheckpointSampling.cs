using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Diffusion;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Native;
using KohyaPS.Engine.Training;
using TorchSharp;

namespace KohyaPS.Engine.Sampling;

/// <summary>What Invoke-KohyaSample asks for; null means "the checkpoint's Sampling settings".</summary>
public sealed record SampleRequest
{
    /// <summary>A checkpoint folder, or a run folder (its newest complete, verified checkpoint).</summary>
    public required string Path { get; init; }
    public IReadOnlyList<string> Prompts { get; init; } = Array.Empty<string>();
    public string? PromptFile { get; init; }
    public int Count { get; init; } = 1;
    public long? Seed { get; init; }
    public int? Steps { get; init; }
    public double? GuidanceScale { get; init; }
    public string? Sampler { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public string? NegativePrompt { get; init; }

    /// <summary>The output folder; default <c>&lt;run&gt;/samples/manual-&lt;step, 8 digits&gt;</c>.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Write into an output folder that already holds files (same-named files are replaced).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>A sampling request resolved against its checkpoint: what will be drawn where, before any weight is read.</summary>
public sealed record SamplePlan(string Checkpoint, long Step, string OutputDirectory, IReadOnlyList<SampleJob> Jobs, IReadOnlyList<string> Warnings);

/// <summary>
/// Invoke-KohyaSample's engine: loads a checkpoint for inference — the model rebuilt from the checkpoint's own
/// settings and tokenizer, its weights loaded through the same path resume uses — and draws the requested images.
/// </summary>
public static class CheckpointSampling
{
    /// <summary>Resolves the checkpoint, prompts and settings; checks everything that can be checked without weights.</summary>
    public static SamplePlan Plan(SampleRequest request, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var warnings = new List<string>();
        string checkpoint = ResolveCheckpoint(request.Path, warnings.Add, cancellation);
        var saved = ResumePoint.Load(checkpoint);
        var hp = saved.Hyperparameters;

        var prompts = request.PromptFile is { } file ? SamplePromptParser.ParseFile(file).ToList() : new List<SamplePrompt>();
        prompts.AddRange(SamplePromptParser.ParseLines(request.Prompts, "-Prompt"));
        if (request.PromptFile is null && request.Prompts.Count == 0)
            prompts.AddRange(SamplingHook.LoadPrompts(hp.Sampling));
        if (prompts.Count == 0)
            throw new KohyaException("SamplePromptsMissing", KohyaErrorKind.InvalidArgument,
                $"No prompts: none were given and the checkpoint's Sampling settings hold none.", target: checkpoint)
            {
                RecommendedAction = "Give -Prompt or -PromptFile.",
            };
        warnings.AddRange(prompts.Where(p => p.IgnoredOptions.Count > 0)
            .Select(p => $"Sample prompt {p.Source}: {string.Join(", ", p.IgnoredOptions)} not used by this version."));

        var defaults = Defaults(hp, request);
        var jobs = defaults.Jobs(prompts, request.Count);
        var schedule = Schedule(hp);
        foreach (int steps in jobs.Select(j => j.Steps).Distinct())
            schedule.TrailingTimesteps(steps);

        string output = request.OutputPath is { } o ? System.IO.Path.GetFullPath(o)
            : System.IO.Path.Combine(RunOf(checkpoint), SamplingHook.Folder, "manual-" + saved.State.GlobalStep.ToString("D8", CultureInfo.InvariantCulture));
        if (!request.Overwrite && Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new KohyaException("SampleOutputExists", KohyaErrorKind.InvalidOperation, $"The output folder '{output}' already holds files.", target: output)
            {
                RecommendedAction = "Use -Force to write into it (images of the same prompt and seed are replaced), or choose another -OutputPath.",
            };
        return new SamplePlan(checkpoint, saved.State.GlobalStep, output, jobs, warnings);
    }

    /// <summary>Loads the plan's checkpoint (verified by <see cref="Plan"/>) and draws every job; cancellation stops between images.</summary>
    public static IReadOnlyList<KohyaSample> Run(SamplePlan plan, Action<SampleProgress>? progress = null, CancellationToken cancellation = default)
    {
        TorchRuntime.EnsureLoaded();
        var saved = ResumePoint.Load(plan.Checkpoint);
        var hp = saved.Hyperparameters;
        TrainingSession.ApplyThreads(hp.Resources.Threads);
        using var model = LoadModel(saved);
        return SampleRenderer.Render(model, Schedule(hp), DiffusionLoss.ParsePrediction(hp.Diffusion.PredictionType), plan.Jobs,
            new SampleTarget(plan.OutputDirectory, plan.Checkpoint, plan.Step), progress, cancellation);
    }

    /// <summary>
    /// The checkpoint's model with its weights, on the CPU (or the CUDA device it names when there is one). It is
    /// built from the checkpoint's own settings and tokenizer; the global random stream is left as it was.
    /// </summary>
    internal static TrainingModel LoadModel(ResumePoint saved)
    {
        var hp = saved.Hyperparameters;
        var device = hp.Resources.Device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && torch.cuda.is_available()
            ? torch.device(hp.Resources.Device) : torch.CPU;
        TrainingModel model;
        using (DefaultGeneratorScope.Preserve())
            model = TrainingModel.Create(hp.Model, saved.Tokenizer(hp.Model), hp.Training.Seed, device, hp.Network);
        try
        {
            model.EnsureSameBase(saved.ReadModelMetadata(), saved.ModelPath);
            saved.LoadWeightsInto(model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    private static SampleDefaults Defaults(KohyaHyperparameterSet hp, SampleRequest r)
    {
        var d = SampleDefaults.From(hp, r.Sampler);
        return d with
        {
            Steps = r.Steps ?? d.Steps,
            GuidanceScale = r.GuidanceScale ?? d.GuidanceScale,
            Width = r.Width ?? d.Width,
            Height = r.Height ?? d.Height,
            Seed = r.Seed ?? d.Seed,
            NegativePrompt = r.NegativePrompt ?? d.NegativePrompt,
        };
    }

    private static NoiseSchedule Schedule(KohyaHyperparameterSet hp) =>
        new(hp.Diffusion.BetaSchedule, hp.Diffusion.BetaStart, hp.Diffusion.BetaEnd, hp.Diffusion.NumTrainTimesteps);

    /// <summary>A checkpoint folder as it is; a run folder's newest complete checkpoint that verifies (newer bad ones are skipped, not moved).</summary>
    private static string ResolveCheckpoint(string path, Action<string> warn, CancellationToken cancellation)
    {
        string full = System.IO.Path.GetFullPath(path).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        if (!Directory.Exists(full))
            throw new KohyaException("CheckpointNotFound", KohyaErrorKind.ObjectNotFound, $"'{full}' does not exist.", target: full);
        if (CheckpointCatalog.IsOurCheckpoint(full))
        {
            var own = CheckpointStore.Verify(full, cancellation);
            return own.IsValid ? full : throw Invalid(full, own.Problems);
        }
        foreach (var c in CheckpointStore.List(full).Where(c => c.IsComplete && !c.IsQuarantined && !c.IsTemporary).OrderByDescending(c => c.Step))
        {
            var check = CheckpointStore.Verify(c.Path, cancellation);
            if (check.IsValid)
                return c.Path;
            warn($"Checkpoint '{c.Name}' does not verify ({string.Join("; ", check.Problems)}); sampling an older one.");
        }
        throw new KohyaException("CheckpointNotFound", KohyaErrorKind.ObjectNotFound,
            $"'{full}' is neither a checkpoint folder nor a run folder holding a complete, verified checkpoint.", target: full)
        {
            RecommendedAction = "Give a checkpoint folder, or pipe one from Get-KohyaCheckpoint.",
        };
    }

    private static string RunOf(string checkpoint) =>
        System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(checkpoint)!)!;

    private static KohyaException Invalid(string checkpoint, IReadOnlyList<string> problems) =>
        new("CheckpointInvalid", KohyaErrorKind.InvalidData, $"Checkpoint '{checkpoint}' cannot be sampled: {string.Join("; ", problems)}.", target: checkpoint)
        {
            RecommendedAction = "Sample an older checkpoint of the run (Test-KohyaCheckpoint says which are whole).",
        };
}
