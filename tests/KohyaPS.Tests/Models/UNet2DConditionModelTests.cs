using System.Text.RegularExpressions;
using KohyaPS.Engine;
using KohyaPS.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Models;

public sealed class UNet2DConditionModelTests
{
    /// <summary>Every state-dict name of the diffusers UNet with indices replaced by N (SD1.5 and tiny share it).</summary>
    private static readonly string[] ExpectedNamePatterns = BuildExpectedPatterns();

    private static string[] BuildExpectedPatterns()
    {
        string[] wb = { "weight", "bias" };
        var names = new List<string>();
        void Add(string prefix, params string[] leaves) => names.AddRange(leaves.Select(l => prefix + "." + l));
        void Resnet(string p, bool shortcut)
        {
            foreach (var m in new[] { "norm1", "conv1", "time_emb_proj", "norm2", "conv2" }.Concat(shortcut ? new[] { "conv_shortcut" } : Array.Empty<string>()))
                Add($"{p}.{m}", wb);
        }
        void Transformer(string p)
        {
            foreach (var m in new[] { "norm", "proj_in", "proj_out" })
                Add($"{p}.{m}", wb);
            string b = $"{p}.transformer_blocks.N";
            foreach (var m in new[] { "norm1", "norm2", "norm3" })
                Add($"{b}.{m}", wb);
            foreach (var a in new[] { "attn1", "attn2" })
            {
                Add($"{b}.{a}", "to_q.weight", "to_k.weight", "to_v.weight", "to_out.N.weight", "to_out.N.bias");
            }
            Add($"{b}.ff.net.N.proj", wb);
            Add($"{b}.ff.net.N", wb);
        }
        Add("conv_in", wb);
        Add("time_embedding.linear_1", wb);
        Add("time_embedding.linear_2", wb);
        Resnet("down_blocks.N.resnets.N", shortcut: true);
        Transformer("down_blocks.N.attentions.N");
        Add("down_blocks.N.downsamplers.N.conv", wb);
        Resnet("mid_block.resnets.N", shortcut: false);
        Transformer("mid_block.attentions.N");
        Resnet("up_blocks.N.resnets.N", shortcut: true);
        Transformer("up_blocks.N.attentions.N");
        Add("up_blocks.N.upsamplers.N.conv", wb);
        Add("conv_norm_out", wb);
        Add("conv_out", wb);
        return names.Distinct().Order(StringComparer.Ordinal).ToArray();
    }

    private static string[] Patterns(IEnumerable<string> names) =>
        names.Select(n => Regex.Replace(n, @"\.\d+(?=\.)", ".N")).Distinct().Order(StringComparer.Ordinal).ToArray();

    [Theory]
    [InlineData("tiny", 32, 32)]
    [InlineData("small", 32, 32)]
    [InlineData("small", 20, 28)] // 20×28 → 10×14 → 5×7: the up path must land on the skip sizes
    public void ForwardKeepsTheSampleShape(string preset, int height, int width)
    {
        using var scope = torch.NewDisposeScope();
        var config = UNetConfig.FromPreset(preset);
        using var model = new UNet2DConditionModel(config);
        using var noGrad = torch.no_grad();
        var sample = torch.randn(2, config.InChannels, height, width);
        var text = torch.randn(2, 5, config.CrossAttentionDim);
        var output = model.forward(sample, torch.tensor(new long[] { 1, 999 }), text);
        Assert.Equal(new long[] { 2, config.OutChannels, height, width }, output.shape);
        Assert.True(output.isfinite().all().item<bool>());
    }

    [Fact]
    public void TimestepsMayBeFloatOrScalar()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new UNet2DConditionModel(UNetConfig.Tiny);
        using var noGrad = torch.no_grad();
        var sample = torch.randn(2, 3, 16, 16);
        var text = torch.randn(2, 4, 32);
        var fromLong = model.forward(sample, torch.tensor(new long[] { 250, 250 }), text);
        var fromFloat = model.forward(sample, torch.tensor(new float[] { 250f, 250f }), text);
        var fromScalar = model.forward(sample, torch.tensor(250L), text);
        Assert.True(fromLong.eq(fromFloat).all().item<bool>());
        Assert.True(fromLong.eq(fromScalar).all().item<bool>());
    }

    [Fact]
    public void BuildsAndRunsInBFloat16()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new UNet2DConditionModel(UNetConfig.Tiny, dtype: ScalarType.BFloat16);
        using var noGrad = torch.no_grad();
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        var output = model.forward(torch.randn(2, 3, 16, 16, ScalarType.BFloat16), torch.tensor(new long[] { 5, 900 }),
            torch.randn(2, 4, 32, ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, output.dtype);
        Assert.True(output.isfinite().all().item<bool>());
    }

    [Fact]
    public void WrongInputShapesAreReported()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new UNet2DConditionModel(UNetConfig.Tiny);
        var ex = Assert.Throws<KohyaException>(() => model.forward(torch.randn(2, 4, 16, 16), torch.tensor(new long[] { 1, 2 }), torch.randn(2, 4, 32)));
        Assert.Equal("InvalidModelInput", ex.ErrorId);
        Assert.Throws<KohyaException>(() => model.forward(torch.randn(2, 3, 16, 16), torch.tensor(new long[] { 1, 2 }), torch.randn(2, 4, 16)));
    }

    [Fact]
    public void TinyHasTheDiffusersStateDictNames()
    {
        using var model = new UNet2DConditionModel(UNetConfig.Tiny);
        var names = model.state_dict().Keys.ToHashSet();
        foreach (string name in new[]
        {
            "conv_in.weight", "time_embedding.linear_1.weight", "time_embedding.linear_2.bias",
            "down_blocks.0.resnets.0.norm1.weight", "down_blocks.0.resnets.0.time_emb_proj.weight",
            "down_blocks.1.resnets.0.conv_shortcut.weight",
            "down_blocks.0.attentions.0.norm.weight", "down_blocks.0.attentions.0.proj_in.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.bias",
            "down_blocks.0.attentions.0.transformer_blocks.0.norm3.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.weight",
            "down_blocks.0.attentions.0.proj_out.bias",
            "down_blocks.0.downsamplers.0.conv.weight",
            "mid_block.resnets.0.conv1.weight", "mid_block.resnets.1.conv2.bias", "mid_block.attentions.0.proj_in.weight",
            "up_blocks.0.resnets.1.conv_shortcut.weight", "up_blocks.0.upsamplers.0.conv.weight",
            "up_blocks.1.attentions.1.transformer_blocks.0.attn1.to_v.weight",
            "conv_norm_out.weight", "conv_out.bias",
        })
        {
            Assert.Contains(name, names);
        }
        Assert.DoesNotContain("down_blocks.1.downsamplers.0.conv.weight", names); // last level: no downsampler
        Assert.DoesNotContain("up_blocks.1.upsamplers.0.conv.weight", names);     // last level: no upsampler
        Assert.DoesNotContain(names, n => n.Contains("to_q.bias", StringComparison.Ordinal) || n.Contains("to_k.bias", StringComparison.Ordinal));
        Assert.DoesNotContain(names, n => n.StartsWith("time_proj", StringComparison.Ordinal));
        Assert.Equal(ExpectedNamePatterns, Patterns(names));
    }

    [Fact]
    public void Sd15HasExactlyTheRealTensorsWithoutAllocatingThem()
    {
        var shapes = UNetConfig.Sd15.ParameterShapes();
        var count = ModelParameterCount.FromShapes(shapes.Values);
        Assert.Equal(686, count.Tensors);
        Assert.Equal(859_520_964L, count.Parameters);
        Assert.Equal(new long[] { 320, 4, 3, 3 }, shapes["conv_in.weight"]);
        Assert.Equal(new long[] { 320, 768 }, shapes["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"]);
        Assert.Equal(new long[] { 1280, 1280, 1, 1 }, shapes["mid_block.attentions.0.proj_in.weight"]);
        Assert.Equal(new long[] { 4, 320, 3, 3 }, shapes["conv_out.weight"]);
        Assert.Equal(new long[] { 2560, 320 }, shapes["down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight"]);
        Assert.Equal(new long[] { 320, 1280 }, shapes["down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.weight"]);
        Assert.Equal(new long[] { 1280, 2560, 3, 3 }, shapes["up_blocks.0.resnets.0.conv1.weight"]);
        Assert.Equal(new long[] { 320, 960, 1, 1 }, shapes["up_blocks.3.resnets.0.conv_shortcut.weight"]);
        Assert.Equal(new long[] { 320, 640, 1, 1 }, shapes["up_blocks.3.resnets.2.conv_shortcut.weight"]);
        Assert.Equal(new long[] { 1280, 320 }, shapes["time_embedding.linear_1.weight"]);
        Assert.Equal(ExpectedNamePatterns, Patterns(shapes.Keys));
    }

    [Fact]
    public void MetaCountEqualsTheRealModule()
    {
        using var model = new UNet2DConditionModel(UNetConfig.Tiny);
        var real = model.state_dict();
        var meta = UNetConfig.Tiny.ParameterShapes();
        Assert.Equal(real.Keys.Order(StringComparer.Ordinal), meta.Keys.Order(StringComparer.Ordinal));
        Assert.All(real, kv => Assert.Equal(kv.Value.shape, meta[kv.Key]));
        Assert.Equal(model.parameters().Sum(p => p.numel()), UNetConfig.Tiny.CountParameters().Parameters);
        Assert.Equal(real.Count, UNetConfig.Tiny.CountParameters().Tensors);
        Assert.All(real.Values, t => Assert.Equal(DeviceType.CPU, t.device_type));
    }

    [Fact]
    public void NormsStartAtOneAndZero()
    {
        using var model = new UNet2DConditionModel(UNetConfig.Tiny);
        var norms = model.named_modules().Where(m => m.module is GroupNorm or LayerNorm).ToList();
        // 8 resnets × 2 + 4 transformers + conv_norm_out; 4 transformers × 3 LayerNorms.
        Assert.Equal(21, norms.Count(m => m.module is GroupNorm));
        Assert.Equal(12, norms.Count(m => m.module is LayerNorm));
        foreach (var (name, module) in norms)
        {
            var p = module.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            Assert.True(p["weight"].eq(1).all().item<bool>(), name + ".weight is not all 1");
            Assert.True(p["bias"].eq(0).all().item<bool>(), name + ".bias is not all 0");
        }
    }
}
