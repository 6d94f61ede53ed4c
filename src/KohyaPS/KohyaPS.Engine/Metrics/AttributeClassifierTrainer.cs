using System.Globalization;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Metrics.Networks;
using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>
/// How the embedded demo classifier is trained. Everything that decides the weights is here; the trainer writes
/// every field into the weights' metadata. Deterministic at a fixed thread count (libtorch's CPU kernels differ in
/// the last bits between thread counts, so <see cref="Threads"/> is part of the recipe).
/// </summary>
public sealed record AttributeClassifierRecipe
{
    /// <summary>Training images drawn by the demo generator (seed <see cref="TrainSeed"/>, 32 px).</summary>
    public int TrainCount { get; init; } = 4000;
    public long TrainSeed { get; init; } = 1001;

    /// <summary>Held-out images for the recorded accuracy (a different seed, never trained on).</summary>
    public int HeldOutCount { get; init; } = 1000;
    public long HeldOutSeed { get; init; } = 2002;

    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;

    /// <summary>Adam, constant rate.</summary>
    public double LearningRate { get; init; } = 2e-3;

    /// <summary>Seed of the weight initialisation (torch.manual_seed) and of the batch order and noise.</summary>
    public long Seed { get; init; } = 7;

    /// <summary>Gaussian pixel noise added to training images, σ drawn uniformly from [0, NoiseMax] per image (images span [−1, 1]): generated samples are noisier than the clean demo drawings.</summary>
    public double NoiseMax { get; init; } = 0.15;

    public int Threads { get; init; } = 2;
}

/// <summary>What a training run measured.</summary>
public sealed record AttributeClassifierTrainingResult(double ShapeAccuracy, double ColorAccuracy, double FinalLoss, TimeSpan Elapsed,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Trains <see cref="AttributeClassifierNet"/> on freshly generated demo images (cross-entropy on both heads,
/// summed) and measures it on a held-out set. Used by the tool <c>tools/KohyaPS.ClassifierTrainer</c> that writes
/// the embedded weights, and by tests.
/// </summary>
public static class AttributeClassifierTrainer
{
    /// <summary>
    /// Trains from <paramref name="recipe"/> using <paramref name="workDirectory"/> for the generated images, and
    /// returns the classifier with its metadata. Sets the global torch seed (training is a tool, not a library call
    /// inside a training run) and the thread count for the duration.
    /// </summary>
    public static (DemoAttributeClassifier Classifier, AttributeClassifierTrainingResult Result) Train(
        AttributeClassifierRecipe recipe, string workDirectory, IProgress<string>? log = null, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        TorchRuntime.EnsureLoaded();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int threadsBefore = torch.get_num_threads();
        torch.set_num_threads(recipe.Threads);
        try
        {
            var (trainX, trainShape, trainColor) = LoadSet(Path.Combine(workDirectory, "train"), recipe.TrainCount, recipe.TrainSeed);
            var (testX, testShape, testColor) = LoadSet(Path.Combine(workDirectory, "heldout"), recipe.HeldOutCount, recipe.HeldOutSeed);
            using var d1 = trainX; using var d2 = trainShape; using var d3 = trainColor;
            using var d4 = testX; using var d5 = testShape; using var d6 = testColor;

            torch.manual_seed(recipe.Seed);
            var net = new AttributeClassifierNet(DemoAttributeClassifier.ShapeNames.Count, DemoAttributeClassifier.ColorNames.Count);
            using var generator = new Generator((ulong)recipe.Seed + 1);
            using var optimizer = torch.optim.Adam(net.parameters(), recipe.LearningRate);
            double loss = double.NaN;
            for (int epoch = 0; epoch < recipe.Epochs; epoch++)
            {
                net.train();
                var (shapeLoss, colorLoss) = Epoch(net, optimizer, generator, trainX, trainShape, trainColor, recipe, token);
                loss = shapeLoss + colorLoss;
                log?.Report(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch + 1}/{recipe.Epochs}: shape loss {shapeLoss:0.0000}, colour loss {colorLoss:0.0000}"));
            }
            var classifier = DemoAttributeClassifier.Wrap(net, new Dictionary<string, string>());
            var (shapeAcc, colorAcc) = Accuracy(classifier, testX, testShape, testColor);
            var metadata = Metadata(recipe, shapeAcc, colorAcc, loss);
            log?.Report(string.Create(CultureInfo.InvariantCulture, $"held-out accuracy: shape {shapeAcc:P2}, colour {colorAcc:P2}"));
            return (DemoAttributeClassifier.Wrap(net, metadata), new AttributeClassifierTrainingResult(shapeAcc, colorAcc, loss, clock.Elapsed, metadata));
        }
        finally
        {
            torch.set_num_threads(threadsBefore);
        }
    }

    /// <summary>Shape and colour accuracy of a classifier on demo images with known labels.</summary>
    public static (double Shape, double Color) Accuracy(DemoAttributeClassifier classifier, Tensor images, Tensor shapes, Tensor colors)
    {
        int n = (int)images.shape[0], shapeHits = 0, colorHits = 0;
        var shapeLabels = shapes.data<long>().ToArray();
        var colorLabels = colors.data<long>().ToArray();
        for (int start = 0; start < n; start += 256)
        {
            using var scope = torch.NewDisposeScope();
            var p = classifier.Classify(images.narrow(0, start, Math.Min(256, n - start))).Predictions;
            for (int i = 0; i < p.Shapes.Length; i++)
            {
                shapeHits += p.Shapes[i] == shapeLabels[start + i] ? 1 : 0;
                colorHits += p.Colors[i] == colorLabels[start + i] ? 1 : 0;
            }
        }
        return ((double)shapeHits / n, (double)colorHits / n);
    }

    /// <summary>Generates <paramref name="count"/> demo images (32 px) and loads them with their label indices.</summary>
    public static (Tensor Images, Tensor Shapes, Tensor Colors) LoadSet(string directory, int count, long seed)
    {
        var summary = DemoDatasetGenerator.Generate(directory, count, seed, AttributeClassifierNet.InputSize, overwrite: true);
        var images = new Tensor[count];
        var shapes = new long[count];
        var colors = new long[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                var img = summary.Images[i];
                images[i] = ImageLoader.LoadResized(Path.Combine(summary.RootPath, img.RelativePath), AttributeClassifierNet.InputSize, AttributeClassifierNet.InputSize);
                shapes[i] = IndexOf(DemoAttributeClassifier.ShapeNames, img.Shape);
                colors[i] = IndexOf(DemoAttributeClassifier.ColorNames, img.Color);
            }
            return (torch.stack(images), torch.tensor(shapes), torch.tensor(colors));
        }
        finally
        {
            foreach (var t in images)
                t?.Dispose();
        }
    }

    private static (double Shape, double Color) Epoch(AttributeClassifierNet net, torch.optim.Optimizer optimizer, Generator generator,
        Tensor x, Tensor shapes, Tensor colors, AttributeClassifierRecipe recipe, CancellationToken token)
    {
        long n = x.shape[0];
        using var order = torch.randperm(n, generator: generator);
        double shapeTotal = 0, colorTotal = 0;
        int batches = 0;
        for (long start = 0; start < n; start += recipe.BatchSize)
        {
            token.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var idx = order.narrow(0, start, Math.Min(recipe.BatchSize, n - start));
            var batch = x.index_select(0, idx);
            var sigma = torch.rand(new long[] { batch.shape[0], 1, 1, 1 }, generator: generator) * recipe.NoiseMax;
            var noisy = (batch + torch.randn(batch.shape, generator: generator) * sigma).clamp(-1, 1);
            var (shapeLogits, colorLogits) = net.Heads(net.forward(noisy));
            var shapeLoss = nn.functional.cross_entropy(shapeLogits, shapes.index_select(0, idx));
            var colorLoss = nn.functional.cross_entropy(colorLogits, colors.index_select(0, idx));
            optimizer.zero_grad();
            (shapeLoss + colorLoss).backward();
            optimizer.step();
            shapeTotal += shapeLoss.item<float>();
            colorTotal += colorLoss.item<float>();
            batches++;
        }
        return (shapeTotal / batches, colorTotal / batches);
    }

    private static Dictionary<string, string> Metadata(AttributeClassifierRecipe r, double shapeAcc, double colorAcc, double loss)
    {
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        string P = DemoAttributeClassifier.MetadataPrefix;
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [P + "shapes"] = string.Join(",", DemoAttributeClassifier.ShapeNames),
            [P + "colors"] = string.Join(",", DemoAttributeClassifier.ColorNames),
            [P + "architecture"] = "3x[conv3x3-bn-relu-maxpool2] (3-32-64-64), fc(1024-32)-relu, linear heads",
            [P + "recipe.train_count"] = r.TrainCount.ToString(CultureInfo.InvariantCulture),
            [P + "recipe.train_seed"] = r.TrainSeed.ToString(CultureInfo.InvariantCulture),
            [P + "recipe.heldout_count"] = r.HeldOutCount.ToString(CultureInfo.InvariantCulture),
            [P + "recipe.heldout_seed"] = r.HeldOutSeed.ToString(CultureInfo.InvariantCulture),
            [P + "recipe.epochs"] = r.Epochs.ToString(CultureInfo.InvariantCulture),
            [P + "recipe.batch_size"] = r.BatchSize.ToString(CultureInfo.InvariantCulture),
            [P + "recipe.learning_rate"] = F(r.LearningRate),
            [P + "recipe.optimizer"] = "Adam",
            [P + "recipe.seed"] = r.Seed.ToString(CultureInfo.InvariantCulture),
            [P + "recipe.noise_max"] = F(r.NoiseMax),
            [P + "recipe.threads"] = r.Threads.ToString(CultureInfo.InvariantCulture),
            [P + "heldout_shape_accuracy"] = F(shapeAcc),
            [P + "heldout_color_accuracy"] = F(colorAcc),
            [P + "final_train_loss"] = F(loss),
            [P + "torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString() ?? "",
        };
    }

    private static long IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
                return i;
        }
        throw new InvalidOperationException($"Internal error: '{name}' is not among [{string.Join(", ", names)}].");
    }
}
