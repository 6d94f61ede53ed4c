using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Sampling;

/// <summary>
/// Sampling during training: every Sampling.SampleEveryNSteps optimizer steps and at the end of every
/// Sampling.SampleEveryNEpochs epochs, draws the run's prompts (Sampling.PromptsFile, else Sampling.Prompts)
/// into <c>&lt;run&gt;/samples/&lt;step, 8 digits&gt;/</c>. It leaves training untouched — no global random draws,
/// no gradients, the model's mode restored — so a run with samples trains bitwise like one without. The
/// sampler and the prompts are checked when the hook is built, before the first step; a failure while drawing
/// (a full disk) is a warning and training goes on.
/// </summary>
public sealed class SamplingHook : ITrainingHook
{
    public const string Folder = "samples";

    private readonly SamplingSection _settings;
    private readonly IReadOnlyList<SamplePrompt> _prompts;
    private readonly SampleDefaults? _defaults;
    private long _lastSampledStep = -1;

    public SamplingHook(KohyaHyperparameterSet hp)
    {
        _settings = hp.Sampling;
        _prompts = Array.Empty<SamplePrompt>();
        if (!Enabled)
            return;
        _defaults = SampleDefaults.From(hp);
        _prompts = LoadPrompts(hp.Sampling);
        if (_prompts.Count == 0)
            throw new KohyaException("SamplePromptsMissing", KohyaErrorKind.InvalidArgument,
                "Sampling during training is on (Sampling.SampleEveryNSteps/SampleEveryNEpochs) but there are no prompts.", target: "Sampling.Prompts")
            {
                RecommendedAction = "Set Sampling.Prompts or Sampling.PromptsFile, or set SampleEveryNSteps and SampleEveryNEpochs to 0.",
            };
        // Step counts beyond the schedule's timesteps are refused now rather than at the first sample.
        var schedule = new Diffusion.NoiseSchedule(hp.Diffusion.BetaSchedule, hp.Diffusion.BetaStart, hp.Diffusion.BetaEnd, hp.Diffusion.NumTrainTimesteps);
        foreach (int steps in _defaults.Jobs(_prompts, 1).Select(j => j.Steps).Distinct())
            schedule.TrailingTimesteps(steps);
    }

    public bool Enabled => _settings.SampleEveryNSteps > 0 || _settings.SampleEveryNEpochs > 0;

    /// <summary>The folder the samples of <paramref name="step"/> go to.</summary>
    public static string StepFolder(string runDirectory, long step) =>
        Path.Combine(runDirectory, Folder, step.ToString("D8", CultureInfo.InvariantCulture));

    /// <summary>Sampling.PromptsFile when set, else the inline Sampling.Prompts in the same line format.</summary>
    public static IReadOnlyList<SamplePrompt> LoadPrompts(SamplingSection sampling) =>
        !string.IsNullOrWhiteSpace(sampling.PromptsFile)
            ? SamplePromptParser.ParseFile(sampling.PromptsFile)
            : SamplePromptParser.ParseLines(sampling.Prompts ?? Array.Empty<string>(), "Sampling.Prompts");

    public void OnRunStarted(TrainingContext context)
    {
        foreach (var prompt in _prompts.Where(p => p.IgnoredOptions.Count > 0))
            context.Observer.Warning($"Sample prompt {prompt.Source}: {string.Join(", ", prompt.IgnoredOptions)} not used by this version.");
    }

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        if (_settings.SampleEveryNSteps > 0 && report.Step % _settings.SampleEveryNSteps == 0)
            Sample(context, report.Step);
    }

    public void OnEpochEnded(TrainingContext context, int epoch)
    {
        if (_settings.SampleEveryNEpochs > 0 && (epoch + 1) % _settings.SampleEveryNEpochs == 0)
            Sample(context, context.State.GlobalStep);
    }

    private void Sample(TrainingContext context, long step)
    {
        if (_defaults is null || step == _lastSampledStep)
            return;
        _lastSampledStep = step;
        var target = new SampleTarget(StepFolder(context.RunDirectory, step), "", step);
        try
        {
            var samples = SampleRenderer.Render(context.Model, context.Objective.Schedule, context.Objective.Prediction, _defaults.Jobs(_prompts, 1), target);
            context.Observer.Verbose($"Step {step}: {samples.Count} sample image(s) in '{target.OutputDirectory}'.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            context.Observer.Warning($"Sampling at step {step} failed ({ex.Message}); training goes on.");
        }
    }
}
