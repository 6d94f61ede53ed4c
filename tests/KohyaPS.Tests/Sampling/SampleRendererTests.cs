using System.Text.Json;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Diffusion;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Sampling;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Sampling;

/// <summary>Sampling with a real (untrained, seeded) tiny model: determinism, guidance, files, and what it must leave alone.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class SampleRendererTests : IDisposable
{
    private static readonly NoiseSchedule Schedule = new("scaled_linear", 0.00085, 0.012, 1000);
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-sample-").FullName;
    private readonly TrainingModel _model;

    public SampleRendererTests()
    {
        torch.set_num_threads(1); // one thread: these tests compare bytes within a process and stay cheap on a busy machine
        var tokenizer = WordTokenizer.FromCaptions(new[] { "a red circle", "a blue square", "blurry" }, 12);
        _model = TrainingModel.Create(new ModelSection { Preset = "tiny", MaxTokens = 12 }, tokenizer, 11, CPU);
    }

    public void Dispose()
    {
        _model.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static SampleJob Job(SamplerKind sampler, long seed = 42, double scale = 4, string negative = "", int size = 16, int steps = 3) =>
        new("a red circle", negative, seed, size, size, steps, scale, sampler, 0, 0);

    private byte[] Png(SampleJob job, PredictionType prediction = PredictionType.Epsilon)
    {
        using var x0 = SampleRenderer.Generate(_model, Schedule, prediction, job);
        return PngWriter.Encode(SampleImages.ToImage(x0));
    }

    [Theory]
    [InlineData(SamplerKind.Ddpm)]
    [InlineData(SamplerKind.Ddim)]
    [InlineData(SamplerKind.Euler)]
    public void SameSeedGivesIdenticalBytesAndAnotherSeedDoesNot(SamplerKind sampler)
    {
        var first = Png(Job(sampler));
        var again = Png(Job(sampler));
        var other = Png(Job(sampler, seed: 43));
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void GuidanceScaleOneIsTheConditionalOnlyPath()
    {
        var job = Job(SamplerKind.Ddim, scale: 1, negative: "blurry");
        using var scope = NewDisposeScope();
        using var guided = SampleRenderer.Generate(_model, Schedule, PredictionType.Epsilon, job);

        // The conditional-only path written out: the prompt's conditioning, the UNet, nothing else.
        using var noGrad = torch.no_grad();
        using var generator = new Generator(42, CPU);
        var noise = randn(new long[] { 1, 3, 16, 16 }, generator: generator);
        var conditioning = _model.TextEncoder.forward(_model.Tokenizer.EncodeBatch(new[] { "a red circle" }));
        var conditionalOnly = new DdimSampler(Schedule, PredictionType.Epsilon, 3)
            .Sample(noise, (x, t) => _model.UNet.forward(x, tensor(new long[] { t }), conditioning), generator).clamp(-1, 1);
        Assert.True(Identical(guided, conditionalOnly));

        // And the guidance formula itself reduces to the conditional prediction at scale 1.
        var c = randn(2, 3);
        var u = randn(2, 3);
        Assert.True(GuidedDenoiser.Combine(c, u, 1).allclose(c, rtol: 0, atol: 1e-6));
        Assert.True(Identical(GuidedDenoiser.Combine(c, u, 0), u));
    }

    [Fact]
    public void GuidanceUsesTheNegativePromptAsTheUnconditionalSide()
    {
        var plain = Png(Job(SamplerKind.Ddim, scale: 1));
        var guidedEmpty = Png(Job(SamplerKind.Ddim, scale: 5));
        var guidedNegative = Png(Job(SamplerKind.Ddim, scale: 5, negative: "blurry"));
        Assert.NotEqual(plain, guidedEmpty);
        Assert.NotEqual(guidedEmpty, guidedNegative);

        // Scale 0 is the unconditional side alone: the negative prompt as the prompt.
        var unconditional = Png(new SampleJob("blurry", "", 42, 16, 16, 3, 1, SamplerKind.Ddim, 0, 0));
        var scaleZero = Png(new SampleJob("a red circle", "blurry", 42, 16, 16, 3, 0, SamplerKind.Ddim, 0, 0));
        using var a = PngPixels(unconditional);
        using var b = PngPixels(scaleZero);
        // Batched (u, c) against a batch of one: equal up to rounding, so allow one grey level.
        Assert.True((a - b).abs().max().item<int>() <= 1);
    }

    private static Tensor PngPixels(byte[] png)
    {
        // The writer stores rows uncompressed: pixels are the bytes after each row's filter byte.
        int w = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
        int h = (png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23];
        var rgb = new int[w * h * 3];
        int offset = 33 + 8 + 2; // signature + IHDR chunk, IDAT length and type, zlib header
        offset += 5; // the stored block header (one block for these small images)
        for (int y = 0; y < h; y++)
            for (int i = 0; i < w * 3; i++)
                rgb[y * w * 3 + i] = png[offset + y * (1 + w * 3) + 1 + i];
        return tensor(rgb);
    }

    [Fact]
    public void VPredictionReadsTheOutputAsVelocity()
    {
        var eps = Png(Job(SamplerKind.Euler), PredictionType.Epsilon);
        var v = Png(Job(SamplerKind.Euler), PredictionType.VPrediction);
        var vAgain = Png(Job(SamplerKind.Euler), PredictionType.VPrediction);
        Assert.Equal(v, vAgain);
        Assert.NotEqual(eps, v);
    }

    [Fact]
    public void RenderWritesImagesGridAndIndexAndLeavesTheModelAndRandomStateAlone()
    {
        var jobs = new SampleDefaults { Sampler = SamplerKind.Euler, Steps = 2, GuidanceScale = 3, Width = 16, Height = 16, Seed = 9 }
            .Jobs(SamplePromptParser.ParseLines(new[] { "a red circle", "a blue square --w 24 --h 8" }, "p"), 2);
        var before = _model.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        _model.UNet.train();
        _model.TextEncoder.eval();
        torch.manual_seed(77);
        using var rngBefore = torch.random.get_rng_state();
        var seen = new List<SampleProgress>();

        var samples = SampleRenderer.Render(_model, Schedule, PredictionType.Epsilon, jobs, new SampleTarget(Path.Combine(_root, "out"), "ckpt", 12), seen.Add);

        using var rngAfter = torch.random.get_rng_state();
        Assert.True(Identical(rngBefore, rngAfter), "the global random state moved");
        Assert.True(_model.UNet.training);
        Assert.False(_model.TextEncoder.training);
        Assert.All(_model.StateTensors(), kv => Assert.True(Identical(kv.Value, before[kv.Key]), kv.Key));
        Assert.All(_model.TrainableParameters, p => Assert.Null(p.Param.grad));

        Assert.Equal(4, samples.Count);
        Assert.Equal(new[] { "000-9.png", "000-10.png", "001-9.png", "001-10.png" }, samples.Select(s => Path.GetFileName(s.Path)));
        Assert.All(samples, s => Assert.True(File.Exists(s.Path)));
        Assert.Equal((24, 8), (samples[2].Width, samples[2].Height));
        Assert.Equal(("ckpt", 12L, "euler", 2, 3.0), (samples[0].Checkpoint, samples[0].Step, samples[0].Sampler, samples[0].Steps, samples[0].GuidanceScale));
        Assert.Equal((24, 8), ImageSize(samples[2].Path));
        // Grid: 2 rows x 2 columns of 24 x 16 cells, 2 px apart.
        Assert.Equal((50, 34), ImageSize(Path.Combine(_root, "out", SampleRenderer.GridFile)));
        var index = JsonSerializer.Deserialize<List<KohyaSample>>(File.ReadAllText(Path.Combine(_root, "out", SampleRenderer.IndexFile)))!;
        Assert.Equal(samples.Select(s => (s.Path, s.Prompt, s.Seed)), index.Select(s => (s.Path, s.Prompt, s.Seed)));
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, seen.Select(p => p.Done));
    }

    private static (int Width, int Height) ImageSize(string png)
    {
        var b = File.ReadAllBytes(png);
        return ((b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19], (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23]);
    }

    [Fact]
    public void CancellationStopsBetweenImages()
    {
        var jobs = new SampleDefaults { Steps = 1, Width = 16, Height = 16 }.Jobs(SamplePromptParser.ParseLines(new[] { "a", "b", "c" }, "p"), 1);
        using var cancellation = new CancellationTokenSource();
        string dir = Path.Combine(_root, "cancelled");
        Assert.Throws<OperationCanceledException>(() => SampleRenderer.Render(_model, Schedule, PredictionType.Epsilon, jobs, new SampleTarget(dir, "", 0),
            p => { if (p.Done == 1) cancellation.Cancel(); }, cancellation.Token));
        Assert.Equal(new[] { "000-0.png" }, Directory.GetFiles(dir).Select(Path.GetFileName));
        Assert.True(_model.UNet.training, "the model's mode is restored after a cancelled pass");
    }

    [Fact]
    public void SizesTheUNetCannotTakeAreRefused()
    {
        var ex = Assert.Throws<KohyaException>(() => SampleRenderer.Generate(_model, Schedule, PredictionType.Epsilon, Job(SamplerKind.Ddim) with { Width = 9 }));
        Assert.Equal("SampleSizeInvalid", ex.ErrorId);
        var none = Assert.Throws<KohyaException>(() => SampleRenderer.Render(_model, Schedule, PredictionType.Epsilon, Array.Empty<SampleJob>(), new SampleTarget(_root, "", 0)));
        Assert.Equal("SamplePromptsMissing", none.ErrorId);
    }

    private static bool Identical(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
