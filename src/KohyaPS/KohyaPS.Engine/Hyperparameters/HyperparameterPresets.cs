using KohyaPS.Contracts;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>
/// Starting points for New-KohyaHyperparameterSet -Preset, one per model size: the model preset plus data and
/// optimizer settings that suit it. Everything not listed keeps the option's default.
/// </summary>
public static class HyperparameterPresets
{
    public static IReadOnlyList<string> Names { get; } = new[] { "tiny", "small", "tiny-sd", "sd15" };

    public static KohyaHyperparameterSet Create(string name)
    {
        var set = new KohyaHyperparameterSet();
        switch (name.ToLowerInvariant())
        {
            case "tiny":
                // Seconds per run on two cores: the test and example configuration.
                set.Model.Preset = "tiny";
                set.Model.MaxTokens = 12;
                set.Data.Resolution = 16;
                set.Data.BatchSize = 4;
                break;
            case "tiny-sd":
                // The latent path in miniature (tiny VAE, CLIP byte-level tokenizer): seconds per run, for tests.
                set.Model.Preset = "tiny-sd";
                set.Model.MaxTokens = 40;
                set.Data.Resolution = 16;
                set.Data.BatchSize = 4;
                break;
            case "small":
                // The demo: the defaults.
                break;
            case "sd15":
                // Stable Diffusion 1.5 sizes (kohya's usual 512 px, buckets 256-1024 in steps of 64, batch 1).
                set.Model.Preset = "sd15";
                set.Model.MaxTokens = 77;
                set.Model.TextEncoderLayers = 12;
                set.Optimizer.LearningRate = 1e-4;
                set.Data.Resolution = 512;
                set.Data.BatchSize = 1;
                set.Data.EnableBucket = true;
                set.Data.MinBucketReso = 256;
                set.Data.MaxBucketReso = 1024;
                set.Data.BucketResoSteps = 64;
                break;
            default:
                throw new KohyaException("UnknownPreset", KohyaErrorKind.InvalidArgument,
                    $"'{name}' is not a hyperparameter preset; the presets are: {string.Join(", ", Names)}.", target: name);
        }
        return set;
    }
}
