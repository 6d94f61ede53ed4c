using System.Diagnostics;
using KohyaPS.Engine.Training;

namespace KohyaPS.Bench;

/// <summary>What one long run recorded: every step's end, and the RSS samples.</summary>
public sealed class RunTrace
{
    public required string Mode { get; init; }
    public required string RunDirectory { get; init; }
    public List<long> StepEnded { get; } = new();
    public List<(long Step, long Bytes)> Rss { get; } = new();

    /// <summary>Wall time from the end of step <paramref name="warmup"/> to the end of the last step.</summary>
    public double WallMs(int warmup) => StepClock.Ms(StepEnded[warmup - 1], StepEnded[^1]);

    /// <summary>Duration of step k (1-based), k ≥ 2.</summary>
    public double StepMs(int k) => StepClock.Ms(StepEnded[k - 2], StepEnded[k - 1]);

    /// <summary>
    /// Time attributable to saving: for each interval save at step k (k = every, 2·every, … below the last step),
    /// the excess over the run's median step time of steps k … k+window−1 (the save's blocking part lands in step
    /// k, a background write slows the steps after it). The same sum at the half-way positions (every/2, every·3/2,
    /// …), where nothing is saved, scaled to the same number of windows, is the noise floor. Steps outside all
    /// windows give the median.
    /// </summary>
    public (double ExcessMs, double NoiseMs, double BaseMs) SaveExcess(int every, int warmup, int window)
    {
        int last = StepEnded.Count;
        var saves = Enumerable.Range(1, last).Where(k => k % every == 0 && k < last).ToList();
        var placebo = Enumerable.Range(warmup + 1, last - warmup).Where(k => k % every == every / 2 && k + window - 1 <= last).ToList();
        IEnumerable<int> Window(IEnumerable<int> starts) => starts.SelectMany(k => Enumerable.Range(k, window)).Where(k => k <= last);
        var inWindow = new HashSet<int>(Window(saves).Concat(Window(placebo)));
        double baseline = Series.Of(Enumerable.Range(warmup + 1, last - warmup).Where(k => !inWindow.Contains(k)).Select(StepMs)).Median;
        double excess = Window(saves).Sum(k => StepMs(k) - baseline);
        double noise = placebo.Count == 0 ? double.NaN : Window(placebo).Sum(k => StepMs(k) - baseline) * saves.Count / placebo.Count;
        return (excess, noise, baseline);
    }
}

public sealed class RunFigures
{
    public required string Preset { get; init; }
    public required int Resolution { get; init; }
    public required int Steps { get; init; }
    public required int SyncSteps { get; init; }
    public required int SaveEvery { get; init; }
    public Series AsyncPercent { get; } = new();
    public Series SyncPercent { get; } = new();
    public Series NoisePercent { get; } = new();
    public Series BaseStepMs { get; } = new();
    public List<(long Step, long Bytes)> Rss { get; set; } = new();
    public double RssGrowthPercent { get; set; } = double.NaN;
    public Series ResumeMs { get; } = new();
    public Series FreshMs { get; } = new();
    public Series ResumeOverFresh => Series.Ratio(ResumeMs, FreshMs);
}

/// <summary>
/// Full-length runs at the default saving interval: checkpoint overhead with AsyncSave on and off (with a noise
/// floor from the same runs), RSS over the run, then resume-to-first-step against fresh-start-to-first-step on the
/// checkpoints those runs left.
/// </summary>
public static class RunBench
{
    public const int Warmup = 5;
    public const int Window = 3;
    public const int RssEvery = 50;

    public static RunFigures Measure(string work, string preset, int resolution, int steps, int syncSteps, int rounds, int resumeRounds, Action<string> log)
    {
        var figures = new RunFigures { Preset = preset, Resolution = resolution, Steps = steps, SyncSteps = syncSteps, SaveEvery = 100 };
        string dataset = StepBench.Dataset(work, resolution);
        string? resumable = null;
        for (int r = 0; r < rounds; r++)
        {
            // Alternate which mode runs first.
            var modes = r % 2 == 0 ? new[] { "async", "sync" } : new[] { "sync", "async" };
            foreach (var mode in modes)
            {
                int n = mode == "async" ? steps : syncSteps;
                var trace = Run(work, dataset, preset, resolution, n, mode, sampleRss: mode == "async" && r == 0);
                var (excess, noise, baseMs) = trace.SaveExcess(figures.SaveEvery, Warmup, Window);
                double wall = trace.WallMs(Warmup);
                double percent = 100 * excess / wall;
                if (mode == "async")
                {
                    figures.AsyncPercent.Add(percent);
                    figures.NoisePercent.Add(100 * noise / wall);
                    figures.BaseStepMs.Add(baseMs);
                }
                else
                {
                    figures.SyncPercent.Add(percent);
                }
                if (trace.Rss.Count > 0)
                {
                    figures.Rss = trace.Rss;
                    figures.RssGrowthPercent = 100.0 * (trace.Rss[^1].Bytes - trace.Rss[0].Bytes) / trace.Rss[0].Bytes;
                }
                log($"  {preset} {resolution}² {n} steps, AsyncSave {(mode == "async" ? "on" : "off")}: median step {baseMs:0.0} ms, wall {wall / 1000:0.0} s, " +
                    $"save excess {excess:0} ms = {percent:0.00}% (noise floor {100 * noise / wall:0.00}%)");
                if (mode == "async" && resumable is null) resumable = trace.RunDirectory;
                else StepBench.TryDelete(trace.RunDirectory);
            }
        }

        for (int r = 0; r < resumeRounds; r++)
        {
            var hp = StepBench.Hyperparameters(preset, resolution, 1);
            string output = Path.Combine(work, "runs", $"fresh-{Guid.NewGuid():N}");
            var fresh = new StepClock();
            TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = dataset, OutputPath = output, ExtraHooks = new[] { fresh } },
                NullTrainingObserver.Instance, CancellationToken.None);
            figures.FreshMs.Add(StepClock.Ms(fresh.CalledAt, fresh.StepEnded[0]));
            StepBench.TryDelete(output);

            var resumed = new StepClock();
            TrainingRunner.Resume(new ResumeRequest { RunPath = resumable, AdditionalSteps = 1, ExtraHooks = new[] { resumed } },
                NullTrainingObserver.Instance, CancellationToken.None);
            figures.ResumeMs.Add(StepClock.Ms(resumed.CalledAt, resumed.StepEnded[0]));
            log($"  resume round {r + 1}/{resumeRounds}: resume → first step {figures.ResumeMs.Values[^1]:0} ms, fresh start → first step {figures.FreshMs.Values[^1]:0} ms");
        }
        if (resumable is not null) StepBench.TryDelete(resumable);
        return figures;
    }

    private static RunTrace Run(string work, string dataset, string preset, int resolution, int steps, string mode, bool sampleRss)
    {
        var hp = StepBench.Hyperparameters(preset, resolution, steps);
        hp.LRSchedule.WarmupSteps = 10;
        hp.Saving.SaveEveryNSteps = 100;
        hp.Saving.AsyncSave = mode == "async";
        var trace = new RunTrace { Mode = mode, RunDirectory = Path.Combine(work, "runs", $"saving-{mode}-{Guid.NewGuid():N}") };
        var clock = new StepClock
        {
            OnStep = (_, report) =>
            {
                trace.StepEnded.Add(Stopwatch.GetTimestamp());
                if (sampleRss && report.Step >= RssEvery && report.Step % RssEvery == 0)
                    trace.Rss.Add((report.Step, Tools.RssBytes()));
            },
        };
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = dataset, OutputPath = trace.RunDirectory, ExtraHooks = new[] { clock } },
            NullTrainingObserver.Instance, CancellationToken.None);
        return trace;
    }
}
