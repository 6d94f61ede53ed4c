using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>
/// Measures generated images per checkpoint: FID against reference images, prompt alignment (demo classifier),
/// consistency of repeated (prompt, seed) pairs and diversity across seeds. Feature extraction is pluggable
/// (<see cref="IFeatureExtractor"/>); prompt alignment needs the <see cref="DemoAttributeClassifier"/>.
/// </summary>
public sealed class OutputEvaluator
{
    private readonly IFeatureExtractor _extractor;

    public OutputEvaluator(IFeatureExtractor extractor)
    {
        _extractor = extractor ?? throw new ArgumentNullException(nameof(extractor));
    }

    /// <summary>
    /// Measures every checkpoint's samples (grouped by Checkpoint and Step, in order of first appearance) against
    /// the reference images (folder or manifest, see <see cref="ReferenceImages.Resolve"/>), if one is given.
    /// The end-to-end entry point: pass <c>samples.Select(MetricsSample.From)</c> for <see cref="KohyaSample"/>s.
    /// </summary>
    public IReadOnlyList<OutputMeasurement> MeasureAll(IReadOnlyList<MetricsSample> samples, string? reference,
        IProgress<MetricsProgress>? progress = null, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
            throw new KohyaException(MetricsErrors.NoSamples, KohyaErrorKind.InvalidArgument, "There are no samples to measure.")
            {
                RecommendedAction = "Pipe the output of Invoke-KohyaSample (or objects with Path and Prompt) into Measure-KohyaOutput.",
            };
        var referencePaths = reference is null ? null : ReferenceImages.Resolve(reference);
        var tracker = new Tracker(progress, samples.Count + (referencePaths?.Count ?? 0));
        var referenceFit = referencePaths is null ? null : FitReference(referencePaths, tracker, token);
        var results = new List<OutputMeasurement>();
        foreach (var group in Group(samples))
            results.Add(Measure(group, referenceFit, referencePaths?.Count ?? 0, tracker, token));
        tracker.Complete();
        return results;
    }

    /// <summary>The samples split by (Checkpoint, Step), in order of first appearance.</summary>
    public static IReadOnlyList<IReadOnlyList<MetricsSample>> Group(IEnumerable<MetricsSample> samples) =>
        samples.GroupBy(s => (s.Checkpoint, s.Step)).Select(g => (IReadOnlyList<MetricsSample>)g.ToList()).ToList();

    private GaussianFit FitReference(IReadOnlyList<string> paths, Tracker tracker, CancellationToken token)
    {
        using var features = Features(paths, "reference", MetricsErrors.MissingReference, tracker, token);
        return GaussianFit.FromFeatures(features, "reference");
    }

    private OutputMeasurement Measure(IReadOnlyList<MetricsSample> samples, GaussianFit? reference, int referenceCount, Tracker tracker,
        CancellationToken token)
    {
        var first = samples[0];
        using var features = Features(samples.Select(s => s.Path).ToList(), "samples of " + Describe(first), MetricsErrors.MissingSample, tracker, token);
        var (alignment, shape, color, aligned) = Alignment(samples, features);
        var (consistency, pairs) = Consistency(samples, token);

        double? fid = null;
        KohyaException? fidError = null;
        if (reference is not null)
        {
            try
            {
                fid = FrechetDistance.Compute(GaussianFit.FromFeatures(features, "sample"), reference);
            }
            catch (KohyaException ex) when (ex.ErrorId == MetricsErrors.TooFewSamples)
            {
                fidError = new KohyaException(ex.ErrorId, ex.Kind, $"{Describe(first)}: {ex.Message}", ex, first.Checkpoint)
                {
                    RecommendedAction = ex.RecommendedAction,
                };
            }
        }

        var metrics = new KohyaOutputMetrics
        {
            Checkpoint = first.Checkpoint,
            Step = first.Step,
            SampleCount = samples.Count,
            Fid = fid,
            ReferenceCount = referenceCount,
            PromptAlignment = alignment,
            ShapeAccuracy = shape,
            ColorAccuracy = color,
            AlignmentCount = aligned,
            Consistency = consistency,
            ConsistencyPairs = pairs,
            Diversity = Diversity(samples, features),
            FeatureExtractor = _extractor.Name,
        };
        return new OutputMeasurement(metrics, fidError, _extractor.Dimension);
    }

    private static string Describe(MetricsSample s) =>
        s.Checkpoint.Length == 0 && s.Step is null ? "the samples" : $"checkpoint '{s.Checkpoint}' (step {s.Step})";

    private Tensor Features(IReadOnlyList<string> paths, string stage, Func<string, KohyaException> missing, Tracker tracker, CancellationToken token)
    {
        int before = tracker.Done;
        return ImageBatches.Map(paths, _extractor.InputSize, _extractor.Extract, missing,
            done => tracker.Report("Features of the " + stage, before + done), token);
    }

    /// <summary>Alignment over samples whose prompt names a shape and a colour; per-attribute accuracies over those naming each.</summary>
    private (double? Both, double? Shape, double? Color, int Count) Alignment(IReadOnlyList<MetricsSample> samples, Tensor features)
    {
        if (_extractor is not DemoAttributeClassifier classifier)
            return (null, null, null, 0);
        var predicted = classifier.Predict(features);
        int shapeN = 0, shapeHits = 0, colorN = 0, colorHits = 0, bothN = 0, bothHits = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            var wanted = PromptAttributes.Parse(samples[i].Prompt, DemoAttributeClassifier.ShapeNames, DemoAttributeClassifier.ColorNames);
            bool shapeOk = wanted.Shape == predicted.Shapes[i], colorOk = wanted.Color == predicted.Colors[i];
            if (wanted.Shape is not null)
            {
                shapeN++;
                shapeHits += shapeOk ? 1 : 0;
            }
            if (wanted.Color is not null)
            {
                colorN++;
                colorHits += colorOk ? 1 : 0;
            }
            if (wanted.Shape is not null && wanted.Color is not null)
            {
                bothN++;
                bothHits += shapeOk && colorOk ? 1 : 0;
            }
        }
        return (Share(bothHits, bothN), Share(shapeHits, shapeN), Share(colorHits, colorN), bothN);
    }

    private static double? Share(int hits, int count) => count == 0 ? null : (double)hits / count;

    /// <summary>
    /// Every (prompt, seed) pair with more than one image (seed known): are all its images pixel-identical (same size,
    /// same decoded RGB bytes) to the first? The share of pairs that are, and the number of pairs.
    /// </summary>
    public static (double? Consistency, int Pairs) Consistency(IReadOnlyList<MetricsSample> samples, CancellationToken token = default)
    {
        var repeated = samples.Where(s => s.Seed is not null).GroupBy(s => (s.Prompt, s.Seed)).Where(g => g.Count() > 1).ToList();
        if (repeated.Count == 0)
            return (null, 0);
        int identical = 0;
        foreach (var group in repeated)
        {
            token.ThrowIfCancellationRequested();
            var images = group.Select(s => Decode(s.Path)).ToList();
            var reference = images[0];
            if (images.Skip(1).All(img => img.Width == reference.Width && img.Height == reference.Height && img.Pixels.AsSpan().SequenceEqual(reference.Pixels)))
                identical++;
        }
        return ((double)identical / repeated.Count, repeated.Count);
    }

    private static RgbImage Decode(string path) => File.Exists(path) ? ImageLoader.DecodeRgb(path) : throw MetricsErrors.MissingSample(path);

    /// <summary>
    /// For each prompt with images from at least two seeds: the mean Euclidean distance between the features of
    /// every pair of its seeds (one image per seed; an unknown seed counts as its own); averaged over those prompts.
    /// </summary>
    public static double? Diversity(IReadOnlyList<MetricsSample> samples, Tensor features)
    {
        var perPrompt = new List<double>();
        foreach (var prompt in Enumerable.Range(0, samples.Count).GroupBy(i => samples[i].Prompt))
        {
            var rows = prompt.GroupBy(i => samples[i].Seed is { } seed ? (object)seed : i).Select(g => (long)g.First()).ToArray();
            if (rows.Length < 2)
                continue;
            double[] f;
            using (torch.NewDisposeScope())
                f = features.index_select(0, torch.tensor(rows)).to(ScalarType.Float64).contiguous().data<double>().ToArray();
            int d = (int)features.shape[1];
            double sum = 0;
            for (int a = 0; a < rows.Length; a++)
            {
                for (int b = a + 1; b < rows.Length; b++)
                {
                    double sq = 0;
                    for (int k = 0; k < d; k++)
                    {
                        double diff = f[a * d + k] - f[b * d + k];
                        sq += diff * diff;
                    }
                    sum += Math.Sqrt(sq);
                }
            }
            perPrompt.Add(sum / (rows.Length * (rows.Length - 1) / 2.0));
        }
        return perPrompt.Count == 0 ? null : perPrompt.Average();
    }

    /// <summary>Counts images done across the whole measurement and reports them.</summary>
    private sealed class Tracker(IProgress<MetricsProgress>? progress, int total)
    {
        public int Done { get; private set; }

        public void Report(string stage, int done)
        {
            Done = done;
            progress?.Report(new MetricsProgress(stage, done, total));
        }

        public void Complete() => progress?.Report(new MetricsProgress("Done", total, total, Completed: true));
    }
}
