using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Datasets;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Data;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Datasets;

/// <summary>Resume through the real trainer with the dataset renamed, changed, or changed and accepted.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class DatasetResumeTests : IDisposable
{
    private readonly TempDirectory _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static readonly Contracts.KohyaHyperparameterSet Config = ResumeMatrixFixture.ReferenceConfig(6);

    private string Square12(string name) => ResumeMatrixData.Write(_tmp.Path, name, Enumerable.Repeat((16, 16), 12).ToList());

    /// <summary>Trains <paramref name="data"/> into run <paramref name="run"/> and stops after step 2 (mid-epoch).</summary>
    private string StoppedAt2(string run, string data, StepRecorder recorder)
    {
        string path = _tmp.Combine(run);
        var result = TrainingRunner.Run(new TrainingRequest { Hyperparameters = Config, DatasetPath = data, OutputPath = path, ExtraHooks = [recorder, new StopAtStep(2)] },
            NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(("Stopped", 2L), (result.Status, result.FinalStep));
        return path;
    }

    private static CheckpointState State(string checkpoint) => ResumeMatrixFixture.State(checkpoint);

    [Fact]
    public void RenamedFilesResumeBitwiseBecauseTheOrderFollowsContent()
    {
        var straightSteps = new StepRecorder();
        var straight = TrainingRunner.Run(new TrainingRequest { Hyperparameters = Config, DatasetPath = Square12("a"), OutputPath = _tmp.Combine("straight"), ExtraHooks = [straightSteps] },
            NullTrainingObserver.Instance, CancellationToken.None);

        string data = Square12("b");
        var steps = new StepRecorder();
        string run = StoppedAt2("renamed", data, steps);
        // Reverse the names: by path the order would be turned around completely.
        string dir = Path.Combine(data, "1_items");
        for (int i = 0; i < 12; i++)
            File.Move(Path.Combine(dir, $"{i:D4}.png"), Path.Combine(dir, $"tmp{i:D4}.png"));
        for (int i = 0; i < 12; i++)
            File.Move(Path.Combine(dir, $"tmp{i:D4}.png"), Path.Combine(dir, $"{11 - i:D4}.png"));
        for (int i = 0; i < 12; i++)
            File.Move(Path.Combine(dir, $"{i:D4}.txt"), Path.Combine(dir, $"tmp{i:D4}.txt"));
        for (int i = 0; i < 12; i++)
            File.Move(Path.Combine(dir, $"tmp{i:D4}.txt"), Path.Combine(dir, $"{11 - i:D4}.txt"));

        var resumed = TrainingRunner.Resume(new ResumeRequest { RunPath = run, ExtraHooks = [steps] }, NullTrainingObserver.Instance, CancellationToken.None);

        Assert.Equal(("Completed", 6L), (resumed.Status, resumed.FinalStep));
        Assert.Equal(straightSteps.Steps, steps.Steps);
        var a = TrainingTestSupport.TensorBytes(Path.Combine(straight.LatestCheckpoint!, CheckpointNames.ModelFile));
        var b = TrainingTestSupport.TensorBytes(Path.Combine(resumed.LatestCheckpoint!, CheckpointNames.ModelFile));
        Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(b[kv.Key]), kv.Key));
        var segment = State(resumed.LatestCheckpoint!).Segments[1];
        Assert.Empty(segment.Overrides);
        Assert.Contains(segment.Warnings, w => w.StartsWith("12 image(s) were renamed or moved", StringComparison.Ordinal));
    }

    [Fact]
    public void ChangedCaptionIsRefusedThenAcceptedAndRecorded()
    {
        string data = Square12("data");
        string run = StoppedAt2("changed", data, new StepRecorder());
        File.WriteAllText(Path.Combine(data, "1_items", "0003.txt"), "item, something else entirely\n");

        var ex = Assert.Throws<KohyaException>(() =>
            TrainingRunner.Resume(new ResumeRequest { RunPath = run }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal(DatasetManifestErrors.DatasetChanged, ex.ErrorId);
        Assert.Contains("1 caption changed", ex.Message);
        Assert.Equal(new long[] { 2 }, CheckpointStore.List(run).Select(c => c.Step)); // nothing was trained or written

        var resumed = TrainingRunner.Resume(new ResumeRequest { RunPath = run, AcceptDatasetChanges = true }, NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(("Completed", 6L), (resumed.Status, resumed.FinalStep));
        var state = State(resumed.LatestCheckpoint!);
        Assert.Empty(state.Segments[0].Overrides);
        string entry = Assert.Single(state.Segments[1].Overrides);
        Assert.Matches(@"^Dataset: 1 caption changed \(manifest [0-9a-f]{12} -> [0-9a-f]{12}\), accepted with -AcceptDatasetChanges$", entry);
        Assert.Contains(state.Segments[1].Warnings, w => w.Contains("The dataset changed since checkpoint 'changed-s00000002'", StringComparison.Ordinal));
        Assert.Contains(resumed.Warnings, w => w.Contains("The dataset changed", StringComparison.Ordinal));

        // The new checkpoints record the dataset as it is now, so a further resume has nothing to refuse.
        var recorded = DatasetManifestJson.Load(resumed.LatestCheckpoint!);
        Assert.Equal("item, something else entirely", recorded.Images.Single(i => i.Path == "1_items/0003.png").Caption);
        var again = TrainingRunner.Resume(new ResumeRequest { RunPath = run, AdditionalSteps = 1 }, NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(7, again.FinalStep);
    }
}
