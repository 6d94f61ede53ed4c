using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Metrics;
using KohyaPS.Engine.Metrics.Networks;
using KohyaPS.Tests.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Metrics;

public sealed class InceptionV3Tests
{
    [Fact]
    public void StateDictUsesPytorchFidKeyNamesAndShapes()
    {
        using var net = new InceptionV3();
        var keys = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal(new long[] { 32, 3, 3, 3 }, keys["Conv2d_1a_3x3.conv.weight"]);
        Assert.Equal(new long[] { 32 }, keys["Conv2d_1a_3x3.bn.running_var"]);
        Assert.Equal(new long[] { 64, 48, 5, 5 }, keys["Mixed_5b.branch5x5_2.conv.weight"]);
        Assert.Equal(new long[] { 32, 192, 1, 1 }, keys["Mixed_5b.branch_pool.conv.weight"]);
        Assert.Equal(new long[] { 384, 288, 3, 3 }, keys["Mixed_6a.branch3x3.conv.weight"]);
        Assert.Equal(new long[] { 128, 128, 1, 7 }, keys["Mixed_6b.branch7x7_2.conv.weight"]);
        Assert.Equal(new long[] { 192, 160, 1, 7 }, keys["Mixed_6c.branch7x7dbl_5.conv.weight"]);
        Assert.Equal(new long[] { 192, 192, 3, 3 }, keys["Mixed_7a.branch7x7x3_4.conv.weight"]);
        Assert.Equal(new long[] { 384, 384, 3, 1 }, keys["Mixed_7b.branch3x3dbl_3b.conv.weight"]);
        Assert.Equal(new long[] { 192, 2048, 1, 1 }, keys["Mixed_7c.branch_pool.conv.weight"]);
        Assert.DoesNotContain(keys.Keys, k => k.StartsWith("AuxLogits.", StringComparison.Ordinal) || k.StartsWith("fc.", StringComparison.Ordinal));
        Assert.All(keys.Keys, k => Assert.DoesNotContain(".conv.bias", k, StringComparison.Ordinal)); // convolutions have no bias

        // torchvision documents 27,161,264 parameters for inception_v3 with AuxLogits (3,326,696) and fc (2048·1000 + 1000).
        long parameters = net.parameters().Sum(p => p.numel());
        Assert.Equal(27_161_264L - 3_326_696L - 2_049_000L, parameters);
        // 94 BasicConv2d blocks: conv.weight + bn.{weight, bias, running_mean, running_var, num_batches_tracked}.
        Assert.Equal(94 * 6, keys.Count);
    }

    [Fact]
    public void RandomNetworkSavedAndLoadedBackGivesTheSame2048Features()
    {
        using var tmp = new TempDirectory();
        string file = tmp.Combine("inception.safetensors");
        using var original = new InceptionV3();
        original.eval();
        // A torchvision-style file: also fc and AuxLogits weights, which the FID network ignores.
        using var fcWeight = torch.zeros(1008, 2048);
        using var aux = torch.zeros(128, 768, 1, 1);
        var tensors = original.state_dict().ToList();
        tensors.Add(new("fc.weight", fcWeight));
        tensors.Add(new("AuxLogits.conv0.conv.weight", aux));
        SafetensorsWriter.Write(file, tensors, null);

        using var extractor = InceptionV3FeatureExtractor.Load(file);
        Assert.Equal((2048, 299, "InceptionV3"), (extractor.Dimension, extractor.InputSize, extractor.Name));
        using var g = new torch.Generator(5);
        using var images = torch.rand(new long[] { 1, 3, 299, 299 }, generator: g) * 2 - 1;
        using var features = extractor.Extract(images);
        Assert.Equal(new long[] { 1, 2048 }, features.shape);
        Assert.True(features.isfinite().all().item<bool>());
        using (torch.no_grad())
        using (var expected = original.forward(images))
            Assert.True(features.allclose(expected, rtol: 0, atol: 0));
    }

    [Fact]
    public void WrongAndMissingKeysAreListed()
    {
        using var tmp = new TempDirectory();
        string file = tmp.Combine("bad.safetensors");
        using var net = new InceptionV3();
        var tensors = net.state_dict()
            .Where(kv => kv.Key != "Mixed_6e.branch_pool.conv.weight")
            .Select(kv => kv.Key == "Conv2d_4a_3x3.conv.weight" ? new KeyValuePair<string, Tensor>("Conv2d_4a_3x3.conv.kernel", kv.Value) : kv)
            .ToList();
        using var wrong = torch.zeros(10, 3, 3, 3);
        tensors = tensors.Select(kv => kv.Key == "Conv2d_1a_3x3.conv.weight" ? new KeyValuePair<string, Tensor>(kv.Key, wrong) : kv).ToList();
        SafetensorsWriter.Write(file, tensors, null);

        var ex = Assert.Throws<KohyaException>(() => InceptionV3FeatureExtractor.Load(file));
        Assert.Equal(MetricsErrors.WeightsMismatch, ex.ErrorId);
        Assert.Contains("Mixed_6e.branch_pool.conv.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Conv2d_4a_3x3.conv.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unexpected [Conv2d_4a_3x3.conv.kernel]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Conv2d_1a_3x3.conv.weight [10,3,3,3]≠[32,3,3,3]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingWeightsFileAndMissingParameterHaveTheirOwnErrors()
    {
        Assert.Equal(MetricsErrors.WeightsNotFound,
            Assert.Throws<KohyaException>(() => FeatureExtractors.Create(FeatureExtractorKind.InceptionV3, "/nonexistent/pt_inception.safetensors")).ErrorId);
        Assert.Equal(MetricsErrors.WeightsRequired,
            Assert.Throws<KohyaException>(() => FeatureExtractors.Create(FeatureExtractorKind.InceptionV3, null)).ErrorId);
    }
}
