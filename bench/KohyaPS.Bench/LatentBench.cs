namespace KohyaPS.Bench;

/// <summary>Figure 11: tiny-sd steps reading latents from the latent cache against steps that decode and encode every image.</summary>
public sealed class LatentFigures
{
    public required int Resolution { get; init; }
    public required int Steps { get; init; }
    public required int Images { get; init; }
    public Series CachedMs { get; } = new();
    public Series UncachedMs { get; } = new();

    /// <summary>Start-up of the cached run minus that of the uncached one, per image: what filling the cache costs.</summary>
    public Series FillMsPerImage { get; } = new();

    /// <summary>Every round's cached and uncached runs ended on the same weights, bit for bit.</summary>
    public bool SameWeights { get; set; } = true;

    public Series CachedOverUncached => Series.Ratio(CachedMs, UncachedMs);
}

public static class LatentBench
{
    private const int Warmup = 2;

    public static LatentFigures Measure(string work, int resolution, int steps, int rounds, Action<string> log)
    {
        string dataset = StepBench.Dataset(work, resolution);
        var figures = new LatentFigures { Resolution = resolution, Steps = steps, Images = 64 };
        for (int r = 0; r < rounds; r++)
        {
            // Alternate which side goes first, so neither always runs on a warmer machine.
            var order = r % 2 == 0 ? new[] { false, true } : new[] { true, false };
            var runs = new Dictionary<bool, (StepClock Clock, string Model)>();
            foreach (bool cached in order)
                runs[cached] = Run(work, dataset, resolution, steps, cached);
            var (c, u) = (runs[true], runs[false]);
            figures.CachedMs.Add(c.Clock.MsPerStep(Warmup));
            figures.UncachedMs.Add(u.Clock.MsPerStep(Warmup));
            double startCached = StepClock.Ms(c.Clock.CalledAt, c.Clock.StartedAt), startUncached = StepClock.Ms(u.Clock.CalledAt, u.Clock.StartedAt);
            figures.FillMsPerImage.Add((startCached - startUncached) / figures.Images);
            bool same = TensorData(c.Model).SequenceEqual(TensorData(u.Model));
            figures.SameWeights &= same;
            log($"  round {r + 1}/{rounds}: cached {figures.CachedMs.Values[^1]:0.0} ms/step, uncached {figures.UncachedMs.Values[^1]:0.0} ms/step, " +
                $"fill {figures.FillMsPerImage.Values[^1]:0.0} ms/image; same weights: {same}");
            StepBench.TryDelete(Path.Combine(work, "latent-runs"));
        }
        return figures;
    }

    /// <summary>The bytes after a safetensors header: equal for equal tensors, whatever the metadata (run name, times) says.</summary>
    public static byte[] TensorData(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long header = BitConverter.ToInt64(bytes, 0);
        return bytes[(int)(8 + header)..];
    }

    private static (StepClock, string) Run(string work, string dataset, int resolution, int steps, bool cached)
    {
        var hp = StepBench.Hyperparameters("tiny-sd", resolution, Warmup + steps);
        hp.Model.MaxTokens = 40;
        hp.Data.CacheLatents = cached;
        return StepBench.RunToCheckpoint(Path.Combine(work, "latent-runs"), dataset, hp, cached ? "cached" : "uncached");
    }
}
