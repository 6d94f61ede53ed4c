namespace KohyaPS.Bench;

/// <summary>Figure 12: the same run in float32, in bfloat16 (float32 masters), and in float32 with gradient checkpointing.</summary>
public sealed class PrecisionFigures
{
    public required string Preset { get; init; }
    public required int Resolution { get; init; }
    public required int Steps { get; init; }
    public Series Float32Ms { get; } = new();
    public Series Bfloat16Ms { get; } = new();
    public Series CheckpointingMs { get; } = new();

    /// <summary>Every round's checkpointed run ended on the plain float32 run's weights, bit for bit.</summary>
    public bool CheckpointingSameWeights { get; set; } = true;

    public Series Bfloat16OverFloat32 => Series.Ratio(Bfloat16Ms, Float32Ms);
    public Series CheckpointingOverPlain => Series.Ratio(CheckpointingMs, Float32Ms);
    public string Label => $"{Preset} {Resolution}²";
}

public static class PrecisionBench
{
    private const int Warmup = 2;

    private enum Mode { Float32, Bfloat16, Checkpointing }

    public static PrecisionFigures Measure(string work, string preset, int resolution, int steps, int rounds, Action<string> log)
    {
        string dataset = StepBench.Dataset(work, resolution);
        var figures = new PrecisionFigures { Preset = preset, Resolution = resolution, Steps = steps };
        var modes = new[] { Mode.Float32, Mode.Bfloat16, Mode.Checkpointing };
        for (int r = 0; r < rounds; r++)
        {
            // Rotate the order by round, so no configuration always runs first or last.
            var runs = new Dictionary<Mode, (StepClock Clock, string Model)>();
            for (int i = 0; i < modes.Length; i++)
            {
                var mode = modes[(i + r) % modes.Length];
                runs[mode] = Run(work, dataset, preset, resolution, steps, mode);
            }
            figures.Float32Ms.Add(runs[Mode.Float32].Clock.MsPerStep(Warmup));
            figures.Bfloat16Ms.Add(runs[Mode.Bfloat16].Clock.MsPerStep(Warmup));
            figures.CheckpointingMs.Add(runs[Mode.Checkpointing].Clock.MsPerStep(Warmup));
            bool same = LatentBench.TensorData(runs[Mode.Checkpointing].Model).SequenceEqual(LatentBench.TensorData(runs[Mode.Float32].Model));
            figures.CheckpointingSameWeights &= same;
            log($"  round {r + 1}/{rounds}: float32 {figures.Float32Ms.Values[^1]:0} ms/step, bfloat16 {figures.Bfloat16Ms.Values[^1]:0} ms/step, " +
                $"checkpointing {figures.CheckpointingMs.Values[^1]:0} ms/step (same weights as float32: {same})");
            StepBench.TryDelete(Path.Combine(work, "precision-runs"));
        }
        return figures;
    }

    private static (StepClock, string) Run(string work, string dataset, string preset, int resolution, int steps, Mode mode)
    {
        var hp = StepBench.Hyperparameters(preset, resolution, Warmup + steps);
        hp.Resources.Dtype = mode == Mode.Bfloat16 ? "bfloat16" : "float32";
        hp.Resources.GradientCheckpointing = mode == Mode.Checkpointing;
        return StepBench.RunToCheckpoint(Path.Combine(work, "precision-runs"), dataset, hp, mode.ToString());
    }
}
