using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;

namespace KohyaPS.Tests.Training;

[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-train-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private KohyaPS.Contracts.KohyaTrainingResult Train(string run, KohyaPS.Contracts.KohyaHyperparameterSet hp, string data) =>
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = Path.Combine(_root, run) },
            NullTrainingObserver.Instance, CancellationToken.None);

    [Fact]
    public void TinyDemoTrainsAndItsLossFalls()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var result = Train("run", TrainingTestSupport.Tiny(40), data);

        Assert.Equal("Completed", result.Status);
        Assert.Equal(40, result.FinalStep);
        Assert.True(double.IsFinite(result.FinalLoss));
        // Pixel-space denoising of flat shapes: the mean loss of the last 10 steps is well below the first 10.
        Assert.True(result.FinalLoss < 0.7 * result.InitialLoss, $"loss went {result.InitialLoss:F4} -> {result.FinalLoss:F4}");
        var lines = File.ReadAllLines(result.LogPath);
        Assert.Equal(40, lines.Length);
        Assert.Contains("\"step\":1,", lines[0]);
        Assert.Contains("\"grad_norm\":", lines[0]);
        Assert.NotNull(result.LatestCheckpoint);
        Assert.True(CheckpointStore.Verify(result.LatestCheckpoint!).IsValid);
    }

    [Fact]
    public void SameSeedGivesBitwiseIdenticalWeights()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var a = Train("a", TrainingTestSupport.Tiny(6), data);
        var b = Train("b", TrainingTestSupport.Tiny(6), data);
        var wa = TrainingTestSupport.TensorBytes(Path.Combine(a.LatestCheckpoint!, CheckpointNames.ModelFile));
        var wb = TrainingTestSupport.TensorBytes(Path.Combine(b.LatestCheckpoint!, CheckpointNames.ModelFile));
        Assert.Equal(wa.Keys.OrderBy(k => k), wb.Keys.OrderBy(k => k));
        Assert.All(wa, kv => Assert.Equal(kv.Value, wb[kv.Key]));
    }

    [Fact]
    public void ResumedRunEqualsUninterruptedRunBitwise()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var straight = Train("straight", TrainingTestSupport.Tiny(10), data);

        var first = Train("split", TrainingTestSupport.Tiny(10, tweak: hp => hp.Training.MaxSteps = 5), data);
        Assert.Equal(5, first.FinalStep);
        var resumed = TrainingRunner.Resume(new ResumeRequest { RunPath = Path.Combine(_root, "split"), MaxSteps = 10 },
            NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(10, resumed.FinalStep);

        foreach (var file in new[] { CheckpointNames.ModelFile, CheckpointNames.OptimizerFile })
        {
            var expected = TrainingTestSupport.TensorBytes(Path.Combine(straight.LatestCheckpoint!, file));
            var actual = TrainingTestSupport.TensorBytes(Path.Combine(resumed.LatestCheckpoint!, file));
            Assert.Equal(expected.Keys.Count, actual.Keys.Count);
            Assert.All(expected, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(actual[kv.Key]), $"{file}: {kv.Key} differs"));
        }
    }

    [Fact]
    public void ResumeAtTargetReportsAlreadyComplete()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        Train("done", TrainingTestSupport.Tiny(3), data);
        var again = TrainingRunner.Resume(new ResumeRequest { RunPath = Path.Combine(_root, "done") }, NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal("AlreadyComplete", again.Status);
        Assert.Equal(3, again.FinalStep);
    }

    [Fact]
    public void FreshStartInARunWithCheckpointsIsRefused()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        Train("twice", TrainingTestSupport.Tiny(2), data);
        var ex = Assert.Throws<KohyaException>(() => Train("twice", TrainingTestSupport.Tiny(2), data));
        Assert.Equal("RunHasCheckpoints", ex.ErrorId);
    }
}
