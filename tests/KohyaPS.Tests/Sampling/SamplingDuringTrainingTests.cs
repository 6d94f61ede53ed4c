using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Sampling;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Sampling;

/// <summary>The sampling hook in real tiny runs, and sampling a checkpoint those runs wrote.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class SamplingDuringTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-sampling-run-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private KohyaTrainingResult Train(string run, KohyaHyperparameterSet hp, string data) =>
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = Path.Combine(_root, run) },
            NullTrainingObserver.Instance, CancellationToken.None);

    private static void SampleEvery(KohyaHyperparameterSet hp, int steps, string sampler = "euler")
    {
        hp.Sampling.SampleEveryNSteps = steps;
        hp.Sampling.Prompts = new[] { "red circle --d 5", "blue square --n red --l 3 --w 8 --h 16" };
        hp.Sampling.Sampler = sampler;
        hp.Sampling.Steps = 2;
    }

    [Fact]
    public void SamplingDoesNotChangeTrainingAndMatchesSamplingTheCheckpoint()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var plain = Train("plain", TrainingTestSupport.Tiny(4), data);
        var sampled = Train("sampled", TrainingTestSupport.Tiny(4, tweak: hp => SampleEvery(hp, 2)), data);

        foreach (var file in new[] { CheckpointNames.ModelFile, CheckpointNames.OptimizerFile })
        {
            var expected = TrainingTestSupport.TensorBytes(Path.Combine(plain.LatestCheckpoint!, file));
            var actual = TrainingTestSupport.TensorBytes(Path.Combine(sampled.LatestCheckpoint!, file));
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            Assert.All(expected, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(actual[kv.Key]), $"{file}: {kv.Key} differs"));
        }
        Assert.Equal(File.ReadAllLines(plain.LogPath).Select(WithoutTimes), File.ReadAllLines(sampled.LogPath).Select(WithoutTimes));
        Assert.False(Directory.Exists(Path.Combine(plain.OutputPath, SamplingHook.Folder)));

        string run = sampled.OutputPath;
        Assert.Equal(new[] { "00000002", "00000004" }, Directory.GetDirectories(Path.Combine(run, SamplingHook.Folder)).Select(Path.GetFileName).Order());
        string step4 = SamplingHook.StepFolder(run, 4);
        Assert.Equal(new[] { "000-5.png", "001-42.png", SampleRenderer.GridFile, SampleRenderer.IndexFile }.Order(), Directory.GetFiles(step4).Select(Path.GetFileName).Order());

        // The same weights sampled back from the step-4 checkpoint give the very same bytes.
        var plan = CheckpointSampling.Plan(new SampleRequest { Path = run, OutputPath = Path.Combine(_root, "manual") });
        Assert.Equal(sampled.LatestCheckpoint, plan.Checkpoint);
        var samples = CheckpointSampling.Run(plan);
        Assert.Equal(2, samples.Count);
        Assert.All(samples, s => Assert.Equal(File.ReadAllBytes(Path.Combine(step4, Path.GetFileName(s.Path))), File.ReadAllBytes(s.Path)));
        Assert.Equal((4L, sampled.LatestCheckpoint, 8, 16, "blue square", "red"), (samples[1].Step, samples[1].Checkpoint, samples[1].Width, samples[1].Height, samples[1].Prompt, samples[1].NegativePrompt));
    }

    private static string WithoutTimes(string logLine) =>
        System.Text.RegularExpressions.Regex.Replace(logLine, "\"(time|segment|samples_per_second)\":[^,}]*", "");

    [Fact]
    public void SamplesAtTheEndOfEveryNthEpoch()
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 2); // 2 images x 10 repeats, batch 4: five steps per epoch
        var result = Train("epochs", TrainingTestSupport.Tiny(10, tweak: hp =>
        {
            SampleEvery(hp, 0, "ddpm"); // not a kohya name, but one the hyperparameter set accepts
            hp.Sampling.SampleEveryNEpochs = 2;
            hp.Sampling.Prompts = new[] { "red circle" };
        }), data);
        Assert.Equal(new[] { "00000010" }, Directory.GetDirectories(Path.Combine(result.OutputPath, SamplingHook.Folder)).Select(Path.GetFileName));
        Assert.Contains("\"Sampler\": \"ddpm\"", File.ReadAllText(Path.Combine(SamplingHook.StepFolder(result.OutputPath, 10), SampleRenderer.IndexFile)));
    }

    [Theory]
    [InlineData("euler_a", null, "SamplerNotSupported")]
    [InlineData("ddim", "", "SamplePromptsMissing")]
    [InlineData("ddim", "red circle --s 0", "SamplePromptInvalid")]
    [InlineData("ddim", "red circle --s 1000", null)] // fine for the parser, too many for a 500-step schedule
    public void BadSamplingSettingsStopTheRunBeforeTheFirstStep(string sampler, string? prompt, string? errorId)
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 4);
        var hp = TrainingTestSupport.Tiny(2, tweak: h =>
        {
            SampleEvery(h, 1, sampler);
            if (prompt is not null) h.Sampling.Prompts = prompt.Length == 0 ? Array.Empty<string>() : new[] { prompt };
            h.Diffusion.NumTrainTimesteps = 500;
        });
        var ex = Assert.Throws<KohyaException>(() => Train("bad", hp, data));
        Assert.Equal(errorId ?? "InvalidSamplingSteps", ex.ErrorId);
        Assert.Empty(CheckpointStore.List(Path.Combine(_root, "bad")));

        // The same sampler with sampling off is only a stored setting: training goes ahead.
        hp.Sampling.SampleEveryNSteps = 0;
        Assert.Equal("Completed", Train("off", hp, data).Status);
    }

    [Fact]
    public void SamplingACheckpointChecksItsInputs()
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 4);
        var result = Train("run", TrainingTestSupport.Tiny(2, saveEvery: 1), data);
        string run = result.OutputPath;

        var none = Assert.Throws<KohyaException>(() => CheckpointSampling.Plan(new SampleRequest { Path = run }));
        Assert.Equal("SamplePromptsMissing", none.ErrorId);
        Assert.Equal("CheckpointNotFound", Assert.Throws<KohyaException>(() => CheckpointSampling.Plan(new SampleRequest { Path = Path.Combine(_root, "nothing"), Prompts = new[] { "x" } })).ErrorId);
        Assert.Equal("CheckpointNotFound", Assert.Throws<KohyaException>(() => CheckpointSampling.Plan(new SampleRequest { Path = data, Prompts = new[] { "x" } })).ErrorId);
        Assert.Equal("SamplerNotSupported", Assert.Throws<KohyaException>(() => CheckpointSampling.Plan(new SampleRequest { Path = run, Prompts = new[] { "x" }, Sampler = "heun" })).ErrorId);

        var plan = CheckpointSampling.Plan(new SampleRequest { Path = run, Prompts = new[] { "red circle" }, Steps = 1, Count = 2, Seed = 3 });
        Assert.Equal(Path.Combine(run, SamplingHook.Folder, "manual-00000002"), plan.OutputDirectory);
        Assert.Equal(new long[] { 3, 4 }, plan.Jobs.Select(j => j.Seed));
        Assert.Equal(16, plan.Jobs[0].Width); // Data.Resolution when Sampling.Width is 0
        CheckpointSampling.Run(plan);
        var exists = Assert.Throws<KohyaException>(() => CheckpointSampling.Plan(new SampleRequest { Path = run, Prompts = new[] { "red circle" } }));
        Assert.Equal("SampleOutputExists", exists.ErrorId);
        Assert.NotNull(CheckpointSampling.Plan(new SampleRequest { Path = run, Prompts = new[] { "red circle" }, Overwrite = true }));

        // A damaged newest checkpoint: the run folder falls back (with a warning, moving nothing); the folder itself is refused.
        string newest = result.LatestCheckpoint!;
        File.AppendAllText(Path.Combine(newest, CheckpointNames.StateFile), " ");
        var fallback = CheckpointSampling.Plan(new SampleRequest { Path = run, Prompts = new[] { "x" }, OutputPath = Path.Combine(_root, "o") });
        Assert.EndsWith("-s00000001", fallback.Checkpoint);
        Assert.Single(fallback.Warnings);
        Assert.True(Directory.Exists(newest));
        var invalid = Assert.Throws<KohyaException>(() => CheckpointSampling.Plan(new SampleRequest { Path = newest, Prompts = new[] { "x" } }));
        Assert.Equal("CheckpointInvalid", invalid.ErrorId);
    }
}
