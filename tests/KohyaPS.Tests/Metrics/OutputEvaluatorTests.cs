using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Metrics;
using KohyaPS.Tests.Data;
using Xunit.Abstractions;

namespace KohyaPS.Tests.Metrics;

public sealed class OutputEvaluatorTests : IClassFixture<EmbeddedClassifierFixture>
{
    private readonly OutputEvaluator _evaluator;
    private readonly ITestOutputHelper _output;

    public OutputEvaluatorTests(EmbeddedClassifierFixture fixture, ITestOutputHelper output)
    {
        _evaluator = new OutputEvaluator(fixture.Classifier);
        _output = output;
    }

    /// <summary>Demo images as samples whose prompts are their own captions.</summary>
    private static List<MetricsSample> CaptionedSamples(DemoDatasetSummary summary, string checkpoint = "", long? step = null) =>
        summary.Images.Select(i => new MetricsSample(Path.Combine(summary.RootPath, i.RelativePath), i.Caption, null, checkpoint, step)).ToList();

    [Fact]
    public void DemoImagesAlignWithTheirOwnCaptionsAndNotWithShuffledOnes()
    {
        using var tmp = new TempDirectory();
        var summary = DemoDatasetGenerator.Generate(tmp.Path, 64, seed: 4242);
        var own = CaptionedSamples(summary);
        // Shuffled: every image gets the caption of another image with a different shape and colour where one exists.
        var captions = own.Select(s => s.Prompt).ToArray();
        var rng = new Random(5);
        var shuffled = own.Select((s, i) => s with { Prompt = captions[(i + 1 + rng.Next(captions.Length - 1)) % captions.Length] }).ToList();

        var aligned = _evaluator.MeasureAll(own, null).Single().Metrics;
        var misaligned = _evaluator.MeasureAll(shuffled, null).Single().Metrics;

        _output.WriteLine($"alignment with own captions {aligned.PromptAlignment:P2}, with shuffled captions {misaligned.PromptAlignment:P2}");
        Assert.Equal(64, aligned.AlignmentCount);
        Assert.True(aligned.PromptAlignment >= 0.95, $"own captions: {aligned.PromptAlignment:P1}");
        Assert.True(aligned.ShapeAccuracy >= 0.95 && aligned.ColorAccuracy >= 0.95);
        Assert.True(misaligned.PromptAlignment <= 0.2, $"shuffled captions: {misaligned.PromptAlignment:P1}");
        Assert.Null(aligned.Fid); // no reference given
    }

    [Fact]
    public void FidOfTheReferenceWithItselfIsZeroAndOfAnotherDrawingIsPositive()
    {
        using var tmp = new TempDirectory();
        var reference = DemoDatasetGenerator.Generate(tmp.Combine("ref"), 48, seed: 1);
        var other = DemoDatasetGenerator.Generate(tmp.Combine("other"), 48, seed: 2);
        var progress = new List<MetricsProgress>();
        var results = _evaluator.MeasureAll(
            CaptionedSamples(reference, "same", 1).Concat(CaptionedSamples(other, "other", 2)).ToList(),
            reference.RootPath, new ListProgress(progress));

        Assert.Equal(2, results.Count);
        var same = results[0].Metrics;
        var different = results[1].Metrics;
        Assert.Equal(("same", 1L, 48), (same.Checkpoint, same.Step!.Value, same.SampleCount));
        Assert.Equal(48, same.ReferenceCount);
        Assert.InRange(same.Fid!.Value, 0.0, 1e-6);
        _output.WriteLine($"FID with itself {same.Fid}, with another drawing {different.Fid}");
        Assert.True(different.Fid > 1e-3, $"FID of another drawing {different.Fid}");
        Assert.Equal("Demo", same.FeatureExtractor);
        // Progress counts every image (48 reference + 96 samples) and ends completed.
        Assert.Equal(144, progress[^1].Done);
        Assert.True(progress[^1].Completed);
        Assert.True(progress.Count > 2);
    }

    [Fact]
    public void ManifestReferenceReadsTheSameImagesAsTheFolder()
    {
        using var tmp = new TempDirectory();
        var data = DemoDatasetGenerator.Generate(tmp.Combine("data"), 8, seed: 3);
        var manifest = KohyaPS.Engine.Datasets.DatasetManifestBuilder.Build(
            DatasetIndexer.Build(KohyaPS.Engine.Datasets.DatasetSources.Definition(data.RootPath, new KohyaHyperparameterSet())));
        string file = tmp.Combine("manifest.json");
        KohyaPS.Engine.Datasets.DatasetManifestJson.Write(manifest, file);
        Assert.Equal(ReferenceImages.Resolve(data.RootPath), ReferenceImages.Resolve(file));
        Assert.Equal(8, ReferenceImages.Resolve(file).Count);
    }

    [Fact]
    public void TooFewSamplesForFidStillMeasuresTheRest()
    {
        using var tmp = new TempDirectory();
        var data = DemoDatasetGenerator.Generate(tmp.Path, 4, seed: 5);
        var one = CaptionedSamples(data).Take(1).ToList();
        var result = _evaluator.MeasureAll(one, data.RootPath).Single();
        Assert.Null(result.Metrics.Fid);
        Assert.Equal(MetricsErrors.TooFewSamples, result.FidError!.ErrorId);
        Assert.Contains("at least 2", result.FidError.Message, StringComparison.Ordinal);
        Assert.NotNull(result.Metrics.PromptAlignment);
    }

    [Fact]
    public void RepeatedPromptAndSeedWithIdenticalImagesIsConsistent()
    {
        using var tmp = new TempDirectory();
        var data = DemoDatasetGenerator.Generate(tmp.Path, 3, seed: 6);
        string a = Path.Combine(data.RootPath, data.Images[0].RelativePath);
        string b = Path.Combine(data.RootPath, data.Images[1].RelativePath);
        string copy = tmp.Combine("copy.png");
        File.Copy(a, copy);
        var consistent = new List<MetricsSample> { new(a, "p", 1), new(copy, "p", 1), new(b, "p", 2) };
        var (c1, pairs1) = OutputEvaluator.Consistency(consistent);
        Assert.Equal((1.0, 1), (c1!.Value, pairs1));

        // Same prompt and seed, different pixels: not reproducible.
        var inconsistent = new List<MetricsSample> { new(a, "p", 1), new(copy, "p", 1), new(a, "q", 9), new(b, "q", 9) };
        var (c2, pairs2) = OutputEvaluator.Consistency(inconsistent);
        Assert.Equal((0.5, 2), (c2!.Value, pairs2));

        // No seeds, no pairs.
        Assert.Equal(((double?)null, 0), OutputEvaluator.Consistency(new List<MetricsSample> { new(a, "p"), new(copy, "p") }));
    }

    [Fact]
    public void DiversityIsZeroForIdenticalImagesAndPositiveForDifferentOnes()
    {
        using var tmp = new TempDirectory();
        var data = DemoDatasetGenerator.Generate(tmp.Path, 4, seed: 8);
        var paths = data.Images.Select(i => Path.Combine(data.RootPath, i.RelativePath)).ToArray();
        var same = _evaluator.MeasureAll(new List<MetricsSample> { new(paths[0], "p", 1), new(paths[0], "p", 2) }, null).Single().Metrics;
        var different = _evaluator.MeasureAll(new List<MetricsSample> { new(paths[0], "p", 1), new(paths[1], "p", 2), new(paths[2], "p", 3) }, null).Single().Metrics;
        var singleSeed = _evaluator.MeasureAll(new List<MetricsSample> { new(paths[0], "p", 1), new(paths[1], "q", 1) }, null).Single().Metrics;
        Assert.Equal(0.0, same.Diversity);
        Assert.True(different.Diversity > 0.1, $"diversity {different.Diversity}");
        Assert.Null(singleSeed.Diversity); // one seed per prompt: nothing to compare
    }

    [Fact]
    public void KohyaSamplesConvertWithTheirSeedCheckpointAndStep()
    {
        var s = MetricsSample.From(new KohyaSample { Path = "/x.png", Prompt = "a red star", Seed = 4, Checkpoint = "/run/c", Step = 80 });
        Assert.Equal(new MetricsSample("/x.png", "a red star", 4, "/run/c", 80), s);
    }

    [Fact]
    public void MissingUndecodableAndEmptyInputsHaveTheirOwnErrors()
    {
        using var tmp = new TempDirectory();
        var data = DemoDatasetGenerator.Generate(tmp.Combine("data"), 2, seed: 9);
        var good = CaptionedSamples(data);
        string broken = tmp.Combine("broken.png");
        File.WriteAllText(broken, "not a png");
        string empty = tmp.Folder("empty");

        KohyaException Error(Action a) => Assert.Throws<KohyaException>(a);
        Assert.Equal(MetricsErrors.SampleNotFound, Error(() => _evaluator.MeasureAll(new List<MetricsSample> { new(tmp.Combine("gone.png"), "p") }, null)).ErrorId);
        Assert.Equal(DatasetErrors.ImageUndecodable, Error(() => _evaluator.MeasureAll(new List<MetricsSample> { new(broken, "p") }, null)).ErrorId);
        Assert.Equal(MetricsErrors.ReferenceNotFound, Error(() => _evaluator.MeasureAll(good, tmp.Combine("nowhere"))).ErrorId);
        Assert.Equal(MetricsErrors.ReferenceEmpty, Error(() => _evaluator.MeasureAll(good, empty)).ErrorId);
        Assert.Equal(MetricsErrors.NoSamples, Error(() => _evaluator.MeasureAll(new List<MetricsSample>(), null)).ErrorId);
    }

    private sealed class ListProgress(List<MetricsProgress> list) : IProgress<MetricsProgress>
    {
        public void Report(MetricsProgress value) => list.Add(value);
    }
}
