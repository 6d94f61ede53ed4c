using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Metrics;
using KohyaPS.Tests.Data;
using TorchSharp;
using Xunit.Abstractions;

namespace KohyaPS.Tests.Metrics;

/// <summary>The embedded classifier, loaded once for the tests that only read it.</summary>
public sealed class EmbeddedClassifierFixture : IDisposable
{
    public DemoAttributeClassifier Classifier { get; } = DemoAttributeClassifier.LoadEmbedded();

    public void Dispose() => Classifier.Dispose();
}

public sealed class DemoAttributeClassifierTests : IClassFixture<EmbeddedClassifierFixture>
{
    private readonly DemoAttributeClassifier _classifier;
    private readonly ITestOutputHelper _output;

    public DemoAttributeClassifierTests(EmbeddedClassifierFixture fixture, ITestOutputHelper output)
    {
        _classifier = fixture.Classifier;
        _output = output;
    }

    [Fact]
    public void EmbeddedClassifierIsAccurateOnFreshDemoImages()
    {
        // Seed 31337 is neither the training (1001) nor the recorded held-out (2002) seed.
        using var tmp = new TempDirectory();
        var (images, shapes, colors) = AttributeClassifierTrainer.LoadSet(tmp.Path, 400, 31337);
        using (images)
        using (shapes)
        using (colors)
        {
            var (shape, color) = AttributeClassifierTrainer.Accuracy(_classifier, images, shapes, colors);
            _output.WriteLine($"fresh demo images (seed 31337, n=400): shape {shape:P2}, colour {color:P2}");
            Assert.True(shape >= 0.95, $"shape accuracy {shape:P1}");
            Assert.True(color >= 0.97, $"colour accuracy {color:P1}");
        }
    }

    [Fact]
    public void WeightsCarryTheirRecipeAndHeldOutAccuracy()
    {
        var recipe = new AttributeClassifierRecipe();
        Assert.Equal(recipe.TrainSeed, _classifier.MetadataNumber("recipe.train_seed"));
        Assert.Equal(recipe.Epochs, _classifier.MetadataNumber("recipe.epochs"));
        Assert.Equal(recipe.LearningRate, _classifier.MetadataNumber("recipe.learning_rate"));
        Assert.True(_classifier.MetadataNumber("heldout_shape_accuracy") >= 0.95);
        Assert.True(_classifier.MetadataNumber("heldout_color_accuracy") >= 0.97);
        Assert.Equal(string.Join(",", DemoAttributeClassifier.ShapeNames), _classifier.Metadata[DemoAttributeClassifier.MetadataPrefix + "shapes"]);
        Assert.Equal(32, _classifier.Dimension);
        Assert.Equal("Demo", _classifier.Name);
    }

    [Fact]
    public void EmbeddedResourceIsSmall()
    {
        using var stream = typeof(DemoAttributeClassifier).Assembly.GetManifestResourceStream(DemoAttributeClassifier.ResourceName);
        Assert.NotNull(stream);
        Assert.InRange(stream!.Length, 10_000, 1_000_000);
    }

    [Fact]
    public void SavedWeightsLoadBackWithIdenticalOutputs()
    {
        using var tmp = new TempDirectory();
        string file = tmp.Combine("classifier.safetensors");
        _classifier.Save(file);
        using var loaded = DemoAttributeClassifier.Load(file);
        using var g = new torch.Generator(3);
        using var images = torch.rand(new long[] { 4, 3, 32, 32 }, generator: g) * 2 - 1;
        using var a = _classifier.Extract(images);
        using var b = loaded.Extract(images);
        Assert.True(a.allclose(b, rtol: 0, atol: 0));
        Assert.Equal(new long[] { 4, 32 }, a.shape);
    }

    [Fact]
    public void WeightsWithAMissingKeyAreRefusedWithTheKeyNamed()
    {
        using var tmp = new TempDirectory();
        string full = tmp.Combine("full.safetensors"), cut = tmp.Combine("cut.safetensors");
        _classifier.Save(full);
        using (var file = SafetensorsFile.Open(full))
        {
            var tensors = file.ReadAll().Where(t => t.Name != "conv2.weight").ToList();
            SafetensorsWriter.Write(cut, tensors.Select(t => new KeyValuePair<string, torch.Tensor>(t.Name, t.Tensor)), file.Metadata);
            foreach (var t in tensors)
                t.Tensor.Dispose();
        }
        var ex = Assert.Throws<KohyaException>(() => DemoAttributeClassifier.Load(cut));
        Assert.Equal(MetricsErrors.WeightsMismatch, ex.ErrorId);
        Assert.Contains("conv2.weight", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingWeightsFileHasItsOwnError()
    {
        var ex = Assert.Throws<KohyaException>(() => DemoAttributeClassifier.Load("/nonexistent/classifier.safetensors"));
        Assert.Equal(MetricsErrors.WeightsNotFound, ex.ErrorId);
    }
}
