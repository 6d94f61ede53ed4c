using KohyaPS.Contracts;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>Checks a hyperparameter set before any work starts; every message names its option.</summary>
public static class HyperparameterValidator
{
    public static readonly string[] Presets = { "tiny", "small", "tiny-sd", "sd15" };
    public static readonly string[] Dtypes = Precision.ComputeDtype.Names;
    public static readonly string[] NetworkTypes = { "none", "lora" };
    public static readonly string[] LossSpikeActions = { "warn", "rollback", "stop" };
    public static readonly string[] GuardActions = { "warn", "stop" };

    /// <summary>kohya sd-scripts' sample_sampler choices, and ddpm (which KohyaPS draws with).</summary>
    public static readonly string[] Samplers =
    {
        "ddpm", "ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpm_2", "dpm_2_a", "dpmsolver", "dpmsolver++", "dpmsingle",
        "k_lms", "k_euler", "k_euler_a", "k_dpm_2", "k_dpm_2_a",
    };

    public static void Validate(KohyaHyperparameterSet set)
    {
        var problems = new List<string>();
        void Check(bool ok, string option, string rule) { if (!ok) problems.Add($"{option} {rule}"); }
        void OneOf(string? value, string[] allowed, string option) =>
            Check(value is not null && allowed.Contains(value, StringComparer.OrdinalIgnoreCase), option, $"must be one of: {string.Join(", ", allowed)} (got '{value}').");
        void Positive(double? value, string option) { if (value is { } v) Check(v > 0 && double.IsFinite(v), option, "must be a positive number."); }

        foreach (var section in HyperparameterSchema.Sections)
            Check(section.GetValue(set) is not null, section.Name, "must not be empty.");
        if (problems.Count > 0)
            throw Failure(problems);

        OneOf(set.Model.Preset, Presets, "Model.Preset");
        Check(set.Model.MaxTokens is >= 2 and <= 512, "Model.MaxTokens", "must be between 2 and 512.");
        Check(set.Model.TextEncoderLayers is >= 1 and <= 48, "Model.TextEncoderLayers", "must be between 1 and 48.");
        bool latent = Training.ModelBlueprint.IsLatentPreset(set.Model.Preset ?? "");
        Check(latent || string.IsNullOrEmpty(set.Model.Path), "Model.Path", $"needs a latent preset (tiny-sd or sd15); '{set.Model.Preset}' trains in pixel space on a seed-initialised model.");
        Check(latent || !set.Data.CacheLatents, "Data.CacheLatents", $"needs a latent preset (tiny-sd or sd15): '{set.Model.Preset}' trains on pixels, which need no encoding.");
        Check(latent || string.IsNullOrEmpty(set.Model.TokenizerPath), "Model.TokenizerPath", $"needs a latent preset (tiny-sd or sd15); '{set.Model.Preset}' uses the word tokenizer built from the captions.");

        OneOf(set.Network.Type, NetworkTypes, "Network.Type");
        Check(set.Network.Dim is >= 1 and <= 1024, "Network.Dim", "must be between 1 and 1024.");
        Check(set.Network.Alpha >= 0 && double.IsFinite(set.Network.Alpha), "Network.Alpha", "must be 0 or a positive number.");
        var modules = set.Network.TargetModules ?? Array.Empty<string>();
        Check(modules.All(m => !string.IsNullOrWhiteSpace(m)), "Network.TargetModules", "must not hold empty names.");
        Check(modules.Distinct(StringComparer.OrdinalIgnoreCase).Count() == modules.Length, "Network.TargetModules", "must not name a module twice.");
        Check(set.Network.Dropout is >= 0 and < 1, "Network.Dropout", "must be at least 0 and below 1.");
        if (Networks.LoraSettings.IsLora(set.Network))
            problems.AddRange(Networks.LoraSettings.Problems(set.Network, set.Model.TrainTextEncoder, out _).Where(p => !p.StartsWith("Network.Dropout", StringComparison.Ordinal)));
        Positive(set.Network.UnetLearningRate, "Network.UnetLearningRate");
        Positive(set.Network.TextEncoderLearningRate, "Network.TextEncoderLearningRate");

        Check(set.Optimizer.LearningRate > 0 && double.IsFinite(set.Optimizer.LearningRate), "Optimizer.LearningRate", "must be a positive number.");
        Check(set.Optimizer.MaxGradNorm >= 0, "Optimizer.MaxGradNorm", "must not be negative.");
        Check(set.LRSchedule.WarmupSteps >= 0, "LRSchedule.WarmupSteps", "must not be negative.");
        Check(set.LRSchedule.RewarmSteps >= 0, "LRSchedule.RewarmSteps", "must not be negative.");
        Check(set.LRSchedule.RewarmStartStep >= 0, "LRSchedule.RewarmStartStep", "must not be negative.");

        Check(set.Data.Resolution is >= 8 and <= 4096 && set.Data.Resolution % 8 == 0, "Data.Resolution", "must be a multiple of 8 between 8 and 4096.");
        Check(set.Data.BatchSize is >= 1 and <= 4096, "Data.BatchSize", "must be between 1 and 4096.");
        Check(set.Data.GradientAccumulationSteps is >= 1 and <= 1024, "Data.GradientAccumulationSteps", "must be between 1 and 1024.");
        Check(set.Data.CaptionDropoutRate is >= 0 and <= 1, "Data.CaptionDropoutRate", "must be between 0 and 1.");
        Check(set.Data.KeepTokens >= 0, "Data.KeepTokens", "must not be negative.");
        Check(set.Data.ValidationSplit is >= 0 and <= 0.5, "Data.ValidationSplit", "must be between 0 and 0.5.");
        Check(set.Data.ValidationSplit == 0 || string.IsNullOrEmpty(set.Data.ValidationPath), "Data.ValidationSplit", "and Data.ValidationPath exclude each other: hold images out, or give a validation folder.");

        Check(set.Resources.Threads is >= 0 and <= 1024, "Resources.Threads", "must be between 0 (all) and 1024.");
        Check(set.Resources.Device is { } device && (device.Equals("cpu", StringComparison.OrdinalIgnoreCase) || device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase)),
            "Resources.Device", $"must be cpu or cuda[:N] (got '{set.Resources.Device}').");
        OneOf(set.Resources.Dtype, Dtypes, "Resources.Dtype");
        Check(set.Training.MaxSteps >= 1, "Training.MaxSteps", "must be at least 1.");

        Check(set.Saving.SaveEveryNSteps >= 0, "Saving.SaveEveryNSteps", "must not be negative.");
        Check(set.Saving.SaveEveryNEpochs >= 0, "Saving.SaveEveryNEpochs", "must not be negative.");
        Check(set.Saving.KeepLast >= 0, "Saving.KeepLast", "must not be negative.");
        Check(set.Saving.KeepEvery >= 0, "Saving.KeepEvery", "must not be negative.");

        Check(set.Sampling.SampleEveryNSteps >= 0, "Sampling.SampleEveryNSteps", "must not be negative.");
        Check(set.Sampling.SampleEveryNEpochs >= 0, "Sampling.SampleEveryNEpochs", "must not be negative.");
        OneOf(set.Sampling.Sampler, Samplers, "Sampling.Sampler");
        Check(set.Sampling.Steps is >= 1 and <= 1000, "Sampling.Steps", "must be between 1 and 1000.");
        Check(set.Sampling.GuidanceScale >= 0 && double.IsFinite(set.Sampling.GuidanceScale), "Sampling.GuidanceScale", "must be 0 or a positive number.");
        Check(set.Sampling.Width == 0 || set.Sampling.Width is >= 8 and <= 4096 && set.Sampling.Width % 8 == 0, "Sampling.Width", "must be 0 or a multiple of 8 between 8 and 4096.");
        Check(set.Sampling.Height == 0 || set.Sampling.Height is >= 8 and <= 4096 && set.Sampling.Height % 8 == 0, "Sampling.Height", "must be 0 or a multiple of 8 between 8 and 4096.");
        Check((set.Sampling.Prompts ?? Array.Empty<string>()).All(p => p is not null), "Sampling.Prompts", "must not hold empty entries.");

        Check(set.Monitoring.LogEveryNSteps >= 1, "Monitoring.LogEveryNSteps", "must be at least 1.");
        Check(set.Monitoring.LossSpikeThreshold == 0 || set.Monitoring.LossSpikeThreshold > 1 && double.IsFinite(set.Monitoring.LossSpikeThreshold),
            "Monitoring.LossSpikeThreshold", "must be 0 (off) or a number above 1.");
        Check(set.Monitoring.LossSpikeWindow is >= 2 and <= 100_000, "Monitoring.LossSpikeWindow", "must be between 2 and 100000.");
        OneOf(set.Monitoring.LossSpikeAction, LossSpikeActions, "Monitoring.LossSpikeAction");
        Check(set.Monitoring.NonFiniteRollbackAfter >= 0, "Monitoring.NonFiniteRollbackAfter", "must not be negative.");
        Check(set.Monitoring.RollbackLearningRateFactor is > 0 and <= 1, "Monitoring.RollbackLearningRateFactor", "must be above 0 and at most 1.");
        Check(set.Monitoring.MaxRollbacks >= 0, "Monitoring.MaxRollbacks", "must not be negative.");
        Check(set.Monitoring.ResumeJumpThreshold == 0 || set.Monitoring.ResumeJumpThreshold > 1 && double.IsFinite(set.Monitoring.ResumeJumpThreshold),
            "Monitoring.ResumeJumpThreshold", "must be 0 (off) or a number above 1.");
        Check(set.Monitoring.ResumeJumpSteps is >= 1 and <= 100_000, "Monitoring.ResumeJumpSteps", "must be between 1 and 100000.");
        OneOf(set.Monitoring.ResumeJumpAction, GuardActions, "Monitoring.ResumeJumpAction");
        Check(set.Monitoring.PlateauSteps >= 0, "Monitoring.PlateauSteps", "must not be negative.");
        Check(set.Monitoring.PlateauMinDelta >= 0 && double.IsFinite(set.Monitoring.PlateauMinDelta), "Monitoring.PlateauMinDelta", "must not be negative.");
        OneOf(set.Monitoring.PlateauAction, GuardActions, "Monitoring.PlateauAction");
        Check(set.Monitoring.ValidateEveryNSteps >= 0, "Monitoring.ValidateEveryNSteps", "must not be negative.");
        Check(set.Monitoring.ValidateEveryNSteps == 0 || set.Data.ValidationSplit > 0 || !string.IsNullOrEmpty(set.Data.ValidationPath),
            "Monitoring.ValidateEveryNSteps", "needs held-out images: set Data.ValidationSplit or Data.ValidationPath.");
        Check(set.Monitoring.ValidationTimesteps is >= 1 and <= 1000, "Monitoring.ValidationTimesteps", "must be between 1 and 1000.");
        Check(set.Monitoring.EarlyStoppingPatience >= 0, "Monitoring.EarlyStoppingPatience", "must not be negative.");
        Check(set.Monitoring.EarlyStoppingPatience == 0 || set.Monitoring.ValidateEveryNSteps > 0, "Monitoring.EarlyStoppingPatience", "needs Monitoring.ValidateEveryNSteps.");
        Check(set.Monitoring.EarlyStoppingMinDelta >= 0 && double.IsFinite(set.Monitoring.EarlyStoppingMinDelta), "Monitoring.EarlyStoppingMinDelta", "must not be negative.");

        if (problems.Count > 0)
            throw Failure(problems);
    }

    /// <summary>Options that are set but not acted on by this version, as warnings for the start of a run.</summary>
    public static IEnumerable<string> DormantSettings(KohyaHyperparameterSet set)
    {
        if (set.Monitoring.LogEveryNSteps != 1)
            yield return $"Monitoring.LogEveryNSteps is {set.Monitoring.LogEveryNSteps}, but this version logs every step; the setting is kept with the run.";
        if (Networks.LoraSettings.IsLora(set.Network) && (set.Network.UnetLearningRate is not null || set.Network.TextEncoderLearningRate is not null))
            yield return "Network.UnetLearningRate/TextEncoderLearningRate are set, but this version trains every LoRA layer at Optimizer.LearningRate (one parameter group); the settings are kept with the run.";
    }

    private static KohyaException Failure(List<string> problems) =>
        new("InvalidHyperparameter", KohyaErrorKind.InvalidArgument,
            "Invalid hyperparameters: " + string.Join(" ", problems), target: problems[0].Split(' ')[0])
        {
            RecommendedAction = "Correct the named options (Get-Help about_KohyaPS_Hyperparameters lists every option).",
        };
}
