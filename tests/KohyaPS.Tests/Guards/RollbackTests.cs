using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Guards;

/// <summary>
/// Injected NaN losses in a real tiny training: the steps are skipped, the third triggers a rollback that restores
/// the weights and optimizer state of the checkpoint before the trouble and halves the learning rate — proven by
/// bitwise equality with a run resumed from that checkpoint at half the learning rate.
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class RollbackTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-rollback-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static KohyaHyperparameterSet Config(long steps) => TrainingTestSupport.Tiny(steps, saveEvery: 5, tweak: hp =>
    {
        hp.LRSchedule.Name = "constant";
        hp.LRSchedule.WarmupSteps = 0;
        hp.Saving.KeepLast = 0;
    });

    private KohyaTrainingResult WithFaults(string run, long steps, string data, string faults, params ITrainingHook[] hooks) =>
        TrainingRunner.Run(new TrainingRequest
        {
            Hyperparameters = Config(steps),
            DatasetPath = data,
            OutputPath = Path.Combine(_root, run),
            ExtraHooks = hooks,
            Faults = FaultInjection.Parse(faults),
        }, NullTrainingObserver.Instance, CancellationToken.None);

    private sealed class RestoredWeights : ITrainingHook
    {
        public Dictionary<string, byte[]>? AtRollback;
        public RollbackReport? Report;

        public void OnRolledBack(TrainingContext context, RollbackReport report)
        {
            Report = report;
            AtRollback = context.Model.StateTensors().ToDictionary(kv => kv.Key, kv => Bytes(kv.Value.detach().cpu().contiguous()));
        }
    }

    private static byte[] Bytes(TorchSharp.torch.Tensor t) => t.dtype switch
    {
        TorchSharp.torch.ScalarType.Float32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<float>().ToArray().AsSpan()).ToArray(),
        TorchSharp.torch.ScalarType.Int64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<long>().ToArray().AsSpan()).ToArray(),
        var other => throw new NotSupportedException(other.ToString()),
    };

    [Fact]
    public void InjectedNaNsAreSkippedThenRolledBackWithTheLearningRateHalved()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var capture = new RestoredWeights();
        var result = WithFaults("faulty", 12, data, "nan-loss@7,8,9", capture);

        Assert.Equal("Completed", result.Status);
        Assert.Equal(12, result.FinalStep);
        Assert.Equal(1, result.Rollbacks);
        Assert.Equal(0.5, result.LearningRateScale);
        Assert.Equal(new[] { "NonFinite:Skip", "NonFinite:Skip", "NonFinite:Rollback", "Rollback:Rollback" },
            result.Events.Select(e => $"{e.Kind}:{e.Action}"));

        // Restored: exactly the weights of checkpoint 5 (the newest before step 7).
        string five = Path.Combine(_root, "faulty", "checkpoints", CheckpointNames.For("faulty", 5));
        Assert.Equal((9L, five, 5L), (capture.Report!.FromStep, capture.Report.Checkpoint, capture.Report.ToStep));
        var saved = TrainingTestSupport.TensorBytes(Path.Combine(five, CheckpointNames.ModelFile));
        Assert.All(saved, kv => Assert.Equal(kv.Value, capture.AtRollback![kv.Key]));

        // The log: steps 7-9 NaN at the full rate, then 6..12 again at half the rate, in a new segment.
        var log = File.ReadAllLines(result.LogPath).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 6, 7, 8, 9, 10, 11, 12 }, log.Select(r => r.GetProperty("step").GetInt32()));
        Assert.Equal("NaN", log[6].GetProperty("loss").GetString());
        Assert.Equal(2e-3, log[5].GetProperty("lr").GetDouble());
        Assert.Equal(1e-3, log[9].GetProperty("lr").GetDouble());
        Assert.NotEqual(log[5].GetProperty("segment").GetString(), log[9].GetProperty("segment").GetString());

        // Recorded in the lineage and the state of later checkpoints.
        var final = CheckpointState.Parse(File.ReadAllText(Path.Combine(result.LatestCheckpoint!, CheckpointNames.StateFile)), "state.json");
        var rollbackSegment = final.Segments[^1];
        Assert.Equal((5L, CheckpointNames.For("faulty", 5)), (rollbackSegment.StartStep, rollbackSegment.ResumedFrom!));
        Assert.Contains("Rollback 1 after 3 non-finite steps at step 9", rollbackSegment.Overrides.Single());
        Assert.Equal((1, 0.5), (final.Monitors!.Rollbacks, final.Monitors.LearningRateScale));

        // The same as resuming checkpoint 5 of a clean run at half the learning rate: bit for bit.
        var clean = TrainingRunner.Run(new TrainingRequest { Hyperparameters = Config(5), DatasetPath = data, OutputPath = Path.Combine(_root, "clean") },
            NullTrainingObserver.Instance, CancellationToken.None);
        var halved = TrainingRunner.Resume(new ResumeRequest
        {
            RunPath = Path.Combine(_root, "clean"),
            MaxSteps = 12,
            Overrides = new System.Collections.Hashtable { ["Optimizer.LearningRate"] = 1e-3 },
        }, NullTrainingObserver.Instance, CancellationToken.None);
        var expected = TrainingTestSupport.TensorBytes(Path.Combine(halved.LatestCheckpoint!, CheckpointNames.ModelFile));
        var actual = TrainingTestSupport.TensorBytes(Path.Combine(result.LatestCheckpoint!, CheckpointNames.ModelFile));
        Assert.All(expected, kv => Assert.Equal(kv.Value, actual[kv.Key]));
        Assert.True(clean.FinalStep == 5);
    }

    [Fact]
    public void TheReducedLearningRateSurvivesAResume()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var first = WithFaults("run", 10, data, "nan-loss@6,7,8");
        Assert.Equal(1, first.Rollbacks);
        var resumed = TrainingRunner.Resume(new ResumeRequest { RunPath = Path.Combine(_root, "run"), MaxSteps = 12 },
            NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal((1, 0.5), (resumed.Rollbacks, resumed.LearningRateScale));
        var last = System.Text.Json.JsonDocument.Parse(File.ReadAllLines(resumed.LogPath)[^1]).RootElement;
        Assert.Equal((12, 1e-3), (last.GetProperty("step").GetInt32(), last.GetProperty("lr").GetDouble()));
    }

    [Fact]
    public void WithoutACheckpointBeforeTheTroubleTheRunStops()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var result = WithFaults("early", 12, data, "nan-loss@2,3,4");
        Assert.Equal("Stopped", result.Status);
        Assert.Equal(4, result.FinalStep);
        Assert.Equal("Rollback:Stop", $"{result.Events[^1].Kind}:{result.Events[^1].Action}");
        Assert.Contains("no complete, verified checkpoint before step 2", result.Events[^1].Message);
    }

    [Theory]
    [InlineData("nan-loss@3;nan-loss@5", new long[] { 3, 5 })]
    [InlineData("nan-loss@12,13", new long[] { 12, 13 })]
    public void FaultSpecificationsParse(string spec, long[] steps)
    {
        var faults = FaultInjection.Parse(spec);
        foreach (long s in steps)
        {
            Assert.True(faults.TakeNanLoss(s));
            Assert.False(faults.TakeNanLoss(s)); // once per process
        }
        Assert.False(faults.TakeNanLoss(1));
        Assert.Throws<ArgumentException>(() => FaultInjection.Parse("oops@1"));
    }
}
