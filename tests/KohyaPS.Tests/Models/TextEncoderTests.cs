using System.Text.RegularExpressions;
using KohyaPS.Engine;
using KohyaPS.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Models;

public sealed class TextEncoderTests
{
    [Theory]
    [InlineData("tiny")]
    [InlineData("small")]
    public void OutputIsBatchByLengthByWidth(string preset)
    {
        using var scope = torch.NewDisposeScope();
        var config = TextEncoderConfig.FromPreset(preset);
        using var model = new TextEncoder(config);
        var ids = torch.randint(0, config.VocabSize, new long[] { 2, config.MaxLength }, ScalarType.Int64);
        var output = model.forward(ids);
        Assert.Equal(new long[] { 2, config.MaxLength, config.Width }, output.shape);
        Assert.True(output.isfinite().all().item<bool>());
    }

    [Fact]
    public void HasClipTextTransformerNames()
    {
        var config = TextEncoderConfig.Tiny with { Layers = 2 };
        using var model = new TextEncoder(config);
        var names = model.state_dict().Keys.ToHashSet();
        foreach (string name in new[]
        {
            "embeddings.token_embedding.weight", "embeddings.position_embedding.weight",
            "encoder.layers.1.self_attn.q_proj.weight", "encoder.layers.0.self_attn.k_proj.bias",
            "encoder.layers.0.self_attn.v_proj.weight", "encoder.layers.0.self_attn.out_proj.bias",
            "encoder.layers.0.layer_norm1.weight", "encoder.layers.0.mlp.fc1.weight", "encoder.layers.0.mlp.fc2.bias",
            "encoder.layers.1.layer_norm2.bias", "final_layer_norm.weight", "final_layer_norm.bias",
        })
        {
            Assert.Contains(name, names);
        }
        var patterns = names.Select(n => Regex.Replace(n, @"\.\d+\.", ".N.")).Distinct().Count();
        Assert.Equal(2 + 4 * 2 + 2 * 2 + 2 * 2 + 2, patterns);
        Assert.Equal(new long[] { config.VocabSize, 32 }, model.state_dict()["embeddings.token_embedding.weight"].shape);
        Assert.Equal(new long[] { 128, 32 }, model.state_dict()["encoder.layers.0.mlp.fc1.weight"].shape);
        Assert.Equal(model.parameters().Sum(p => p.numel()), config.CountParameters().Parameters);
        Assert.Equal(names.Count, config.CountParameters().Tensors);
    }

    [Fact]
    public void AttentionIsCausalSoPaddingDoesNotChangeEarlierStates()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new TextEncoder(TextEncoderConfig.Tiny);
        using var noGrad = torch.no_grad();
        var a = model.forward(torch.tensor(new long[] { 2, 5, 6, 0, 0, 0, 0, 0 }, new long[] { 1, 8 }));
        var b = model.forward(torch.tensor(new long[] { 2, 5, 6, 9, 9, 9, 9, 9 }, new long[] { 1, 8 }));
        Assert.True(a[.., ..3].allclose(b[.., ..3]));
        Assert.False(a[.., 3..].allclose(b[.., 3..]));
    }

    [Fact]
    public void NormsStartAtOneAndZero()
    {
        using var model = new TextEncoder(TextEncoderConfig.Tiny);
        foreach (var (name, module) in model.named_modules().Where(m => m.module is LayerNorm))
        {
            var p = module.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            Assert.True(p["weight"].eq(1).all().item<bool>(), name);
            Assert.True(p["bias"].eq(0).all().item<bool>(), name);
        }
    }

    [Fact]
    public void ForUNetPairsTheWidths()
    {
        var tiny = TextEncoderConfig.ForUNet(UNetConfig.Tiny, 40, 7);
        Assert.Equal(TextEncoderConfig.Tiny with { VocabSize = 40, MaxLength = 7 }, tiny);
        Assert.Equal(UNetConfig.Tiny.CrossAttentionDim, tiny.Width);
        Assert.Equal(UNetConfig.Small.CrossAttentionDim, TextEncoderConfig.ForUNet(UNetConfig.Small, 40, 7).Width);
        var sd = TextEncoderConfig.ForUNet(UNetConfig.Sd15, 49408, 77);
        Assert.Equal((768, 12, 3072), (sd.Width, sd.Heads, sd.IntermediateSize));
        var tok = WordTokenizer.FromCaptions(new[] { "a cat" }, 5);
        var fromTok = TextEncoderConfig.ForUNet(UNetConfig.Tiny, tok);
        Assert.Equal((tok.VocabularySize, tok.MaxLength), (fromTok.VocabSize, fromTok.MaxLength));
    }

    [Fact]
    public void ConfigErrorsNameTheField()
    {
        var ex = Assert.Throws<KohyaException>(() => new TextEncoder(TextEncoderConfig.Tiny with { Heads = 3 }));
        Assert.Equal("InvalidModelConfig", ex.ErrorId);
        Assert.Equal(nameof(TextEncoderConfig.Heads), ex.Target);
        ex = Assert.Throws<KohyaException>(() => (TextEncoderConfig.Tiny with { VocabSize = 2 }).Validate());
        Assert.Equal(nameof(TextEncoderConfig.VocabSize), ex.Target);
        Assert.Equal("UnknownModelPreset", Assert.Throws<KohyaException>(() => TextEncoderConfig.FromPreset("clip-l")).ErrorId);
    }

    [Fact]
    public void BadIdsAreReported()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new TextEncoder(TextEncoderConfig.Tiny);
        var tooLong = torch.zeros(new long[] { 1, 9 }, ScalarType.Int64);
        Assert.Equal("InvalidModelInput", Assert.Throws<KohyaException>(() => model.forward(tooLong)).ErrorId);
        var outOfVocab = torch.full(new long[] { 1, 4 }, 64L, ScalarType.Int64);
        Assert.Equal("InvalidModelInput", Assert.Throws<KohyaException>(() => model.forward(outOfVocab)).ErrorId);
    }
}
