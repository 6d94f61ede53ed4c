using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Guards;

/// <summary>Held-out validation in a real tiny training: the split, a deterministic loss, the best checkpoint, early stopping.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class ValidationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-validation-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private KohyaTrainingResult Train(string run, KohyaHyperparameterSet hp, string data, params ITrainingHook[] hooks) =>
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = Path.Combine(_root, run), ExtraHooks = hooks },
            NullTrainingObserver.Instance, CancellationToken.None);

    private sealed class Metrics : ITrainingHook
    {
        public readonly List<MetricReport> Reports = new();
        public int Held;

        public void OnRunStarted(TrainingContext context)
        {
            context.MetricReported += Reports.Add;
            Held = context.Data.Validation?.Count ?? 0;
        }
    }

    [Fact]
    public void ValidationIsDeterministicMarksTheBestAndDoesNotChangeTraining()
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 16);
        var watched = new Metrics();
        var withValidation = Train("validated", TrainingTestSupport.Tiny(6, tweak: hp =>
        {
            hp.Data.ValidationSplit = 0.25;
            hp.Monitoring.ValidateEveryNSteps = 2;
        }), data, watched);
        var again = new Metrics();
        Train("again", TrainingTestSupport.Tiny(6, tweak: hp =>
        {
            hp.Data.ValidationSplit = 0.25;
            hp.Monitoring.ValidateEveryNSteps = 2;
        }), data, again);
        var without = Train("plain", TrainingTestSupport.Tiny(6, tweak: hp => hp.Data.ValidationSplit = 0.25), data);

        Assert.Equal(4, watched.Held); // 25 % of 16 images held out
        Assert.Equal(new long[] { 2, 4, 6 }, watched.Reports.Select(r => r.Step));
        Assert.All(watched.Reports, r => Assert.Equal("val_loss", r.Name));
        Assert.Equal(watched.Reports.Select(r => r.Value), again.Reports.Select(r => r.Value)); // same weights, same noise: same loss
        // Measuring does not disturb training: the same weights with and without validation.
        var a = TrainingTestSupport.TensorBytes(Path.Combine(without.LatestCheckpoint!, CheckpointNames.ModelFile));
        var b = TrainingTestSupport.TensorBytes(Path.Combine(withValidation.LatestCheckpoint!, CheckpointNames.ModelFile));
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));

        // The best is marked: best.json names a checkpoint saved for it, with its validation loss.
        var best = BestCheckpoint.Read(Path.Combine(_root, "validated"))!;
        var lowest = watched.Reports.MinBy(r => r.Value)!;
        Assert.Equal((lowest.Step, lowest.Value), (best.Step, best.ValidationLoss));
        var info = CheckpointStore.Describe(CheckpointStore.List(Path.Combine(_root, "validated")).Single(c => c.Name == best.Checkpoint));
        Assert.True(info.IsBest);
        Assert.Equal(lowest.Value, info.ValidationLoss);
        Assert.Equal(withValidation.BestValidationLoss, lowest.Value);
    }

    [Fact]
    public void EarlyStoppingStopsAfterPatienceValidationsWithoutImprovement()
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 16);
        // No decrease can exceed a min_delta of 10: the first validation is the best, two more without improvement stop the run.
        var result = Train("early", TrainingTestSupport.Tiny(40, tweak: hp =>
        {
            hp.Data.ValidationSplit = 0.25;
            hp.Monitoring.ValidateEveryNSteps = 2;
            hp.Monitoring.EarlyStoppingPatience = 2;
            hp.Monitoring.EarlyStoppingMinDelta = 10;
        }), data);
        Assert.Equal(("Stopped", 6L, "early stopping"), (result.Status, result.FinalStep, result.StopReason!));
        Assert.Equal(new[] { "BestValidation:None@2", "EarlyStop:Stop@6" }, result.Events.Select(e => $"{e.Kind}:{e.Action}@{e.Step}"));
        Assert.Equal(2, result.BestValidationStep);
        // The stop is saved, and the best (step 2) is kept.
        Assert.Equal(new long[] { 2, 6 }, CheckpointStore.List(Path.Combine(_root, "early")).Select(c => c.Step));
    }

    [Fact]
    public void TheSplitFollowsContentSoRenamingKeepsIt()
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 16);
        var hp = TrainingTestSupport.Tiny(1, tweak: h => h.Data.ValidationSplit = 0.25);
        var before = TrainingData.Open(data, hp, CancellationToken.None).Validation!.Index.Entries.Select(e => Path.GetFileName(e.AbsolutePath)).ToList();
        string renamed = Path.Combine(_root, "renamed");
        foreach (var file in Directory.GetFiles(data, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(renamed, Path.GetRelativePath(data, Path.GetDirectoryName(file)!), "x-" + Path.GetFileName(file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var after = TrainingData.Open(renamed, hp, CancellationToken.None).Validation!.Index.Entries.Select(e => Path.GetFileName(e.AbsolutePath)[2..]).ToList();
        Assert.Equal(before, after);
    }

    [Fact]
    public void ValidationSettingsAreCheckedUpFront()
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 4);
        var noHeldOut = Assert.Throws<KohyaException>(() => Train("a", TrainingTestSupport.Tiny(2, tweak: h => h.Monitoring.ValidateEveryNSteps = 1), data));
        Assert.Equal("InvalidHyperparameter", noHeldOut.ErrorId);
        Assert.Contains("Monitoring.ValidateEveryNSteps", noHeldOut.Message);
        var patienceAlone = Assert.Throws<KohyaException>(() => Train("b", TrainingTestSupport.Tiny(2, tweak: h => h.Monitoring.EarlyStoppingPatience = 2), data));
        Assert.Contains("Monitoring.EarlyStoppingPatience", patienceAlone.Message);
    }
}
