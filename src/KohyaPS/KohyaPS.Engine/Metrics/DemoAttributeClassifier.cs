using System.Globalization;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Metrics.Networks;
using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>Predicted shape and colour indices (into the classifier's name lists) for a batch of images.</summary>
public sealed record AttributePredictions(int[] Shapes, int[] Colors);

/// <summary>
/// The demo feature extractor and prompt-alignment judge: <see cref="AttributeClassifierNet"/> trained on the
/// synthetic demo dataset (recipe in <see cref="AttributeClassifierRecipe"/>, weights embedded in the engine as
/// <see cref="ResourceName"/>, recipe and held-out accuracies in its metadata). Its penultimate layer gives the
/// features; its heads give the shape and colour of an image.
/// </summary>
public sealed class DemoAttributeClassifier : IFeatureExtractor
{
    public const string ResourceName = "KohyaPS.Engine.Metrics.demo-attribute-classifier.safetensors";
    public const string MetadataPrefix = "kohyaps.classifier.";

    private readonly AttributeClassifierNet _net;

    private DemoAttributeClassifier(AttributeClassifierNet net, IReadOnlyDictionary<string, string> metadata)
    {
        _net = net;
        Metadata = metadata;
    }

    /// <summary>Shape names in head order (the demo dataset's, lower case).</summary>
    public static IReadOnlyList<string> ShapeNames { get; } = DemoDatasetGenerator.Shapes.Select(s => s.ToString().ToLowerInvariant()).ToArray();

    /// <summary>Colour names in head order (the demo palette's).</summary>
    public static IReadOnlyList<string> ColorNames { get; } = DemoDatasetGenerator.Palette.Select(p => p.Name).ToArray();

    public string Name => "Demo";

    public int Dimension => AttributeClassifierNet.FeatureDimension;

    public int InputSize => AttributeClassifierNet.InputSize;

    /// <summary>The weights file's metadata: the training recipe and the held-out accuracies.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The classifier shipped inside the engine.</summary>
    public static DemoAttributeClassifier LoadEmbedded()
    {
        using var stream = typeof(DemoAttributeClassifier).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Internal error: the engine has no embedded resource '{ResourceName}'.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var tensors = StateDictLoader.ReadFromBytes(buffer.ToArray(), ResourceName, out var metadata);
        return Create(tensors, metadata, ResourceName);
    }

    /// <summary>A classifier from a weights file (one written by <see cref="AttributeClassifierTrainer"/>).</summary>
    public static DemoAttributeClassifier Load(string path)
    {
        var tensors = StateDictLoader.ReadFile(path);
        using var file = SafetensorsFile.Open(path);
        return Create(tensors, file.Metadata, path);
    }

    /// <summary>Wraps a network (trained in this process) without copying it.</summary>
    internal static DemoAttributeClassifier Wrap(AttributeClassifierNet net, IReadOnlyDictionary<string, string> metadata)
    {
        net.eval();
        return new DemoAttributeClassifier(net, metadata);
    }

    private static DemoAttributeClassifier Create(Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata, string source)
    {
        try
        {
            CheckLabels(metadata, "shapes", ShapeNames, source);
            CheckLabels(metadata, "colors", ColorNames, source);
            TorchRuntime.EnsureLoaded();
            var net = new AttributeClassifierNet(ShapeNames.Count, ColorNames.Count);
            StateDictLoader.Load(net, tensors, source);
            return Wrap(net, metadata);
        }
        finally
        {
            foreach (var t in tensors.Values)
                t.Dispose();
        }
    }

    /// <summary>The labels the weights were trained with must be the generator's, in the same order.</summary>
    private static void CheckLabels(IReadOnlyDictionary<string, string> metadata, string key, IReadOnlyList<string> expected, string source)
    {
        string want = string.Join(",", expected);
        if (!metadata.TryGetValue(MetadataPrefix + key, out var got) || got != want)
            throw new KohyaException(MetricsErrors.WeightsMismatch, KohyaErrorKind.InvalidData,
                $"'{source}' was trained for {key} [{got}], but the demo dataset draws [{want}].", target: source)
            {
                RecommendedAction = "Retrain the classifier (tools/KohyaPS.ClassifierTrainer) after changing the demo dataset's shapes or palette.",
            };
    }

    public Tensor Extract(Tensor images)
    {
        using var noGrad = torch.no_grad();
        return _net.forward(images);
    }

    /// <summary>Features and predicted attributes of images [N, 3, 32, 32] in [−1, 1]. The caller owns the features.</summary>
    public (Tensor Features, AttributePredictions Predictions) Classify(Tensor images)
    {
        var features = Extract(images);
        return (features, Predict(features));
    }

    /// <summary>The heads' predictions from features that <see cref="Extract"/> returned.</summary>
    public AttributePredictions Predict(Tensor features)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (shape, color) = _net.Heads(features);
        return new AttributePredictions(
            shape.argmax(1).to(ScalarType.Int32).data<int>().ToArray(),
            color.argmax(1).to(ScalarType.Int32).data<int>().ToArray());
    }

    /// <summary>A metadata value as a number (accuracies, counts), or null.</summary>
    public double? MetadataNumber(string key) =>
        Metadata.TryGetValue(MetadataPrefix + key, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>Writes the weights (F32) with the metadata (recipe, accuracies) as a safetensors file.</summary>
    public void Save(string path) => SafetensorsWriter.Write(path, _net.state_dict(), Metadata);

    public void Dispose() => _net.Dispose();
}
