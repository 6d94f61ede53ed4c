using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Metrics;
using KohyaPS.Engine.Sampling;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;
using Xunit.Abstractions;

namespace KohyaPS.Tests.Evaluation;

/// <summary>
/// Sampling and metrics end to end: the tiny demo model, sampled with the demo's own kind of prompts, is scored
/// by the embedded attribute classifier — after training it must match its prompts more often than right after
/// its first step.
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class PromptAlignmentTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-alignment-").FullName;
    private readonly ITestOutputHelper _output;

    public PromptAlignmentTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly string[] Prompts =
    {
        "a red circle on a white background", "a blue square on a white background", "a green triangle on a white background",
        "a yellow star on a white background", "a red square on a black background", "a blue circle on a black background",
    };

    private KohyaOutputMetrics Measure(string checkpoint, string folder)
    {
        var plan = CheckpointSampling.Plan(new SampleRequest
        {
            Path = checkpoint, Prompts = Prompts, Count = 3, Seed = 100, Steps = 20, GuidanceScale = 4, Sampler = "ddim",
            OutputPath = Path.Combine(_root, folder),
        });
        var samples = CheckpointSampling.Run(plan);
        var evaluator = new OutputEvaluator(DemoAttributeClassifier.LoadEmbedded());
        return Assert.Single(evaluator.MeasureAll(samples.Select(MetricsSample.From).ToList(), null)).Metrics;
    }

    [Fact]
    public void TheTrainedDemoModelMatchesItsPromptsBetterThanAtTheStart()
    {
        string data = Path.Combine(_root, "data");
        DemoDatasetGenerator.Generate(data, count: 48, seed: 42, size: 16);
        var hp = TrainingTestSupport.Tiny(1, tweak: h => { h.LRSchedule.Name = "constant"; h.LRSchedule.WarmupSteps = 0; });
        var start = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = Path.Combine(_root, "run") },
            NullTrainingObserver.Instance, CancellationToken.None);
        var early = Measure(start.LatestCheckpoint!, "early");
        var trained = TrainingRunner.Resume(new ResumeRequest { RunPath = Path.Combine(_root, "run"), MaxSteps = 300 },
            NullTrainingObserver.Instance, CancellationToken.None);
        var late = Measure(trained.LatestCheckpoint!, "late");
        _output.WriteLine($"step 1: alignment {early.PromptAlignment:P0} (shape {early.ShapeAccuracy:P0}, colour {early.ColorAccuracy:P0}); " +
            $"step 300: alignment {late.PromptAlignment:P0} (shape {late.ShapeAccuracy:P0}, colour {late.ColorAccuracy:P0}); loss {trained.InitialLoss:F3} -> {trained.FinalLoss:F3}");
        Assert.Equal(1.0, late.Consistency ?? 1.0);
        Assert.True(late.PromptAlignment > early.PromptAlignment,
            $"alignment did not rise: {early.PromptAlignment:P0} at step 1, {late.PromptAlignment:P0} at step 300");
        Assert.True(late.ColorAccuracy > early.ColorAccuracy, $"colour accuracy {early.ColorAccuracy:P0} -> {late.ColorAccuracy:P0}");
    }
}
