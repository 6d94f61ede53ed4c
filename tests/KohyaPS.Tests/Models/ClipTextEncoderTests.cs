using KohyaPS.Engine;
using KohyaPS.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Models;

public sealed class ClipTextEncoderTests
{
    // CLIPTextModel parameters from the architecture: token + position embeddings, per layer four biased
    // width×width projections, two LayerNorms, fc1 and fc2 (biased), then the final LayerNorm.
    private static long Expected(long vocab, long positions, long width, long layers, long mlp) =>
        vocab * width + positions * width
        + layers * (4 * (width * width + width) + 2 * 2 * width + (width * mlp + mlp) + (mlp * width + width))
        + 2 * width;

    [Fact]
    public void ClipVitL14HasTheDocumentedSizeAndLayout()
    {
        var config = TextEncoderConfig.FromPreset("sd15");
        Assert.Same(TextEncoderConfig.ClipVitL14, config);
        var count = config.CountParameters();
        Assert.Equal(123_060_480L, count.Parameters);
        Assert.Equal(Expected(49408, 77, 768, 12, 3072), count.Parameters);
        Assert.Equal(2 + 12 * 16 + 2, count.Tensors);
        var shapes = config.ParameterShapes();
        Assert.Equal(new long[] { 49408, 768 }, shapes["embeddings.token_embedding.weight"]);
        Assert.Equal(new long[] { 77, 768 }, shapes["embeddings.position_embedding.weight"]);
        Assert.Equal(new long[] { 768, 768 }, shapes["encoder.layers.11.self_attn.out_proj.weight"]);
        Assert.Equal(new long[] { 3072, 768 }, shapes["encoder.layers.0.mlp.fc1.weight"]);
        Assert.Equal(new long[] { 768, 3072 }, shapes["encoder.layers.5.mlp.fc2.weight"]);
        Assert.Equal(new long[] { 768 }, shapes["final_layer_norm.bias"]);
        Assert.DoesNotContain(shapes.Keys, k => k.StartsWith("encoder.layers.12.", StringComparison.Ordinal));
    }

    [Fact]
    public void TinyPresetKeepsItsSize()
    {
        // 64×32 + 8×32 embeddings, one layer (4·(32·32+32) + 2·64 + (32·128+128) + (128·32+32)), final norm 64.
        Assert.Equal(new ModelParameterCount(20, 15_072), TextEncoderConfig.Tiny.CountParameters());
        Assert.Equal(Expected(64, 8, 32, 1, 128), TextEncoderConfig.Tiny.CountParameters().Parameters);
    }

    [Fact]
    public void ClipSkipTwoIsTheOneLayerShorterModelWithTheSameWeights()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        using var two = new TextEncoder(TextEncoderConfig.Tiny with { Layers = 2 });
        using var one = new TextEncoder(TextEncoderConfig.Tiny with { Layers = 1 });
        var source = two.state_dict();
        using (torch.no_grad())
        {
            foreach (var (name, tensor) in one.state_dict())
                tensor.copy_(source[name]);
        }
        var ids = torch.randint(0, 64, new long[] { 2, 8 }, ScalarType.Int64);
        var skipped = two.Encode(ids, 2);
        Assert.True(skipped.allclose(one.forward(ids), rtol: 1e-6, atol: 1e-6));
        Assert.True(two.Encode(ids, 1).eq(two.forward(ids)).all().item<bool>());
        Assert.False(skipped.allclose(two.forward(ids)));
        // The final LayerNorm is applied: every token state has mean ~0 and variance ~1 (weights 1, bias 0).
        Assert.True(skipped.mean(new long[] { -1 }).abs().max().item<float>() < 1e-4);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void ClipSkipOutsideTheLayersIsRefused(int clipSkip)
    {
        using var model = new TextEncoder(TextEncoderConfig.Tiny with { Layers = 2 });
        using var ids = torch.zeros(1, 8, ScalarType.Int64);
        var ex = Assert.Throws<KohyaException>(() => model.Encode(ids, clipSkip));
        Assert.Equal("InvalidClipSkip", ex.ErrorId);
        Assert.Equal(clipSkip, ex.Target);
    }

    [Fact]
    public void ForUNetPairsSd15WithClipVitL14()
    {
        var config = TextEncoderConfig.ForUNet(UNetConfig.Sd15, 49408, 77);
        Assert.Equal(TextEncoderConfig.ClipVitL14, config);
    }
}
