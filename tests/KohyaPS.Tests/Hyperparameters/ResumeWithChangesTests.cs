using System.Collections;
using System.Text.Json;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Hyperparameters;

/// <summary>The resume policy through the real trainer: tiny runs, a few steps each.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class ResumeWithChangesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-resume-hp-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Train(string name, long steps, string data)
    {
        string run = Path.Combine(_root, name);
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = TrainingTestSupport.Tiny(steps), DatasetPath = data, OutputPath = run },
            NullTrainingObserver.Instance, CancellationToken.None);
        return run;
    }

    private static KohyaPS.Contracts.KohyaTrainingResult Resume(ResumeRequest request) =>
        TrainingRunner.Resume(request, NullTrainingObserver.Instance, CancellationToken.None);

    private static Dictionary<long, double> LoggedRates(string run) =>
        File.ReadAllLines(Path.Combine(run, "logs", "train.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("step").GetInt64(), e => e.GetProperty("lr").GetDouble());

    [Fact]
    public void RewarmRampsTheRateAndARunInterruptedDuringTheRampContinuesItExactly()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        string straight = Train("straight", 4, data);
        Resume(new ResumeRequest { RunPath = straight, MaxSteps = 10, RewarmSteps = 4 });

        string split = Train("split", 4, data);
        Resume(new ResumeRequest { RunPath = split, MaxSteps = 6, RewarmSteps = 4 });
        var second = Resume(new ResumeRequest { RunPath = split, MaxSteps = 10 }); // no -Rewarm: the ramp under way continues
        Assert.Equal(10, second.FinalStep);

        var rates = LoggedRates(straight);
        double full = rates[10];
        Assert.Equal(2e-3, full, 12);
        Assert.Equal(new[] { 0.25, 0.5, 0.75, 1.0 }, new long[] { 5, 6, 7, 8 }.Select(s => Math.Round(rates[s] / full, 12)));
        Assert.Equal(rates, LoggedRates(split));
        var a = TrainingTestSupport.TensorBytes(Path.Combine(second.LatestCheckpoint!, CheckpointNames.ModelFile));
        var b = TrainingTestSupport.TensorBytes(Path.Combine(CheckpointStore.List(straight).Last().Path, CheckpointNames.ModelFile));
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));

        var lineage = CheckpointStore.Describe(CheckpointStore.List(straight).Last()).Lineage!;
        Assert.Contains("LRSchedule.RewarmSteps: 0 -> 4 (Trajectory) via -Rewarm", lineage.Segments[1].Overrides);
        Assert.Contains("LRSchedule.RewarmStartStep: 0 -> 4 (Trajectory) via -Rewarm", lineage.Segments[1].Overrides);
    }

    [Fact]
    public void AnOptimizerChangeWithResetOptimizerTrainsOnAndIsInTheLineage()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        string run = Train("run", 3, data);
        var change = new Hashtable { ["Optimizer.Type"] = "Lion", ["Optimizer.LearningRate"] = 1e-4 };

        var refused = Assert.Throws<KohyaException>(() => Resume(new ResumeRequest { RunPath = run, MaxSteps = 5, Overrides = change }));
        Assert.Equal("HyperparameterChangeIncompatible", refused.ErrorId);
        Assert.Single(CheckpointStore.List(run)); // nothing was trained or written
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run, "logs", "train.jsonl")).Length);

        var result = Resume(new ResumeRequest { RunPath = run, MaxSteps = 5, Overrides = change, ResetOptimizer = true });
        Assert.Equal(5, result.FinalStep);
        var info = CheckpointStore.Describe(CheckpointStore.List(run).Last());
        Assert.Equal("Lion", info.HyperparameterSet!.Optimizer.Type);
        Assert.Equal(1e-4, info.HyperparameterSet.Optimizer.LearningRate);
        var overrides = info.Lineage!.Segments[1].Overrides;
        Assert.Contains("Training.MaxSteps: 3 -> 5", overrides);
        Assert.Contains("Optimizer.Type: AdamW -> Lion (Incompatible) via -ResetOptimizer", overrides);
        Assert.Contains("Optimizer.LearningRate: 0.002 -> 0.0001 (Trajectory) via -Override", overrides);
        Assert.Contains(overrides, o => o.StartsWith("Optimizer state: reset", StringComparison.Ordinal));
    }
}
