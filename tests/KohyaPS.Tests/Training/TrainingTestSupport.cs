using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Training;

/// <summary>Tiny runs on a tiny demo dataset: the real trainer, real images, a few steps.</summary>
internal static class TrainingTestSupport
{
    /// <summary>A tiny, fast configuration: tiny UNet, 16 px demo images, batch 4.</summary>
    public static KohyaHyperparameterSet Tiny(long steps, int saveEvery = 0, Action<KohyaHyperparameterSet>? tweak = null)
    {
        var hp = new KohyaHyperparameterSet();
        hp.Model.Preset = "tiny";
        hp.Model.MaxTokens = 12;
        hp.Data.Resolution = 16;
        hp.Data.BatchSize = 4;
        hp.Optimizer.LearningRate = 2e-3;
        hp.LRSchedule.Name = "constant_with_warmup";
        hp.LRSchedule.WarmupSteps = 2;
        hp.Training.MaxSteps = steps;
        hp.Saving.SaveEveryNSteps = saveEvery;
        hp.Saving.AsyncSave = false;
        hp.Resources.Threads = 2;
        tweak?.Invoke(hp);
        return hp;
    }

    /// <summary>A demo dataset of <paramref name="count"/> 16 px images under a fresh temp folder.</summary>
    public static string DemoDataset(string root, int count = 16)
    {
        string path = Path.Combine(root, "data");
        DemoDatasetGenerator.Generate(path, count: count, seed: 7, size: 16);
        return path;
    }

    /// <summary>Every tensor of a safetensors file as raw bytes, for bitwise comparison.</summary>
    public static Dictionary<string, byte[]> TensorBytes(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.Entries.ToDictionary(e => e.Name, e => file.ReadBytes(e.Name));
    }
}
