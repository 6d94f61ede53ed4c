using KohyaPS.Contracts;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>Checks a hyperparameter set before any work starts; every message names its option.</summary>
public static class HyperparameterValidator
{
    public static readonly string[] Presets = { "tiny", "small", "sd15" };
    public static readonly string[] Dtypes = { "float32" };

    public static void Validate(KohyaHyperparameterSet set)
    {
        var problems = new List<string>();
        void Check(bool ok, string option, string rule) { if (!ok) problems.Add($"{option} {rule}"); }

        Check(Presets.Contains(set.Model.Preset, StringComparer.OrdinalIgnoreCase), "Model.Preset", $"must be one of: {string.Join(", ", Presets)} (got '{set.Model.Preset}').");
        Check(set.Model.MaxTokens is >= 2 and <= 512, "Model.MaxTokens", "must be between 2 and 512.");
        Check(set.Model.TextEncoderLayers is >= 1 and <= 48, "Model.TextEncoderLayers", "must be between 1 and 48.");
        Check(set.Optimizer.LearningRate > 0 && double.IsFinite(set.Optimizer.LearningRate), "Optimizer.LearningRate", "must be a positive number.");
        Check(set.Optimizer.MaxGradNorm >= 0, "Optimizer.MaxGradNorm", "must not be negative.");
        Check(set.LRSchedule.WarmupSteps >= 0, "LRSchedule.WarmupSteps", "must not be negative.");
        Check(set.Data.Resolution is >= 8 and <= 4096 && set.Data.Resolution % 8 == 0, "Data.Resolution", "must be a multiple of 8 between 8 and 4096.");
        Check(set.Data.BatchSize is >= 1 and <= 4096, "Data.BatchSize", "must be between 1 and 4096.");
        Check(set.Data.GradientAccumulationSteps is >= 1 and <= 1024, "Data.GradientAccumulationSteps", "must be between 1 and 1024.");
        Check(set.Data.CaptionDropoutRate is >= 0 and <= 1, "Data.CaptionDropoutRate", "must be between 0 and 1.");
        Check(set.Data.KeepTokens >= 0, "Data.KeepTokens", "must not be negative.");
        Check(set.Resources.Threads is >= 0 and <= 1024, "Resources.Threads", "must be between 0 (all) and 1024.");
        Check(set.Resources.Device.Equals("cpu", StringComparison.OrdinalIgnoreCase) || set.Resources.Device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase),
            "Resources.Device", $"must be cpu or cuda[:N] (got '{set.Resources.Device}').");
        Check(Dtypes.Contains(set.Resources.Dtype, StringComparer.OrdinalIgnoreCase), "Resources.Dtype", $"must be one of: {string.Join(", ", Dtypes)} (got '{set.Resources.Dtype}').");
        Check(set.Training.MaxSteps >= 1, "Training.MaxSteps", "must be at least 1.");
        Check(set.Saving.SaveEveryNSteps >= 0, "Saving.SaveEveryNSteps", "must not be negative.");
        Check(set.Saving.SaveEveryNEpochs >= 0, "Saving.SaveEveryNEpochs", "must not be negative.");
        Check(set.Saving.KeepLast >= 0, "Saving.KeepLast", "must not be negative.");
        Check(set.Saving.KeepEvery >= 0, "Saving.KeepEvery", "must not be negative.");

        if (problems.Count > 0)
            throw new KohyaException("InvalidHyperparameter", KohyaErrorKind.InvalidArgument,
                "Invalid hyperparameters: " + string.Join(" ", problems), target: problems[0].Split(' ')[0])
            {
                RecommendedAction = "Correct the named options (Get-Help Import-KohyaHyperparameterSet lists every option).",
            };
    }
}
