using KohyaPS.Engine;
using KohyaPS.Engine.Models.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Models;

public sealed class VaeTests
{
    // Parameters of diffusers' AutoencoderKL counted from the architecture (not from our modules): conv k×k with
    // bias, GroupNorm weight+bias, resnets with a 1×1 shortcut when channels change, single-head attention with
    // four biased linears, encoder levels of L resnets, decoder levels of L+1, resamplers between levels.
    private static long Conv(long i, long o, long k) => i * o * k * k + o;
    private static long Norm(long c) => 2 * c;
    private static long Resnet(long i, long o) => Norm(i) + Conv(i, o, 3) + Norm(o) + Conv(o, o, 3) + (i != o ? Conv(i, o, 1) : 0);
    private static long Attention(long c) => Norm(c) + 4 * (c * c + c);

    private static long ExpectedParameters(int[] ch, int layers, long latent, long rgb)
    {
        long total = Conv(rgb, ch[0], 3);
        long prev = ch[0];
        for (int i = 0; i < ch.Length; i++)
        {
            for (int j = 0; j < layers; j++)
                total += Resnet(j == 0 ? prev : ch[i], ch[i]);
            prev = ch[i];
            if (i < ch.Length - 1)
                total += Conv(ch[i], ch[i], 3);
        }
        long top = ch[^1];
        total += 2 * Resnet(top, top) + Attention(top) + Norm(top) + Conv(top, 2 * latent, 3);
        total += Conv(2 * latent, 2 * latent, 1) + Conv(latent, latent, 1);
        total += Conv(latent, top, 3) + 2 * Resnet(top, top) + Attention(top);
        var rev = ch.Reverse().ToArray();
        prev = rev[0];
        for (int i = 0; i < rev.Length; i++)
        {
            for (int j = 0; j <= layers; j++)
                total += Resnet(j == 0 ? prev : rev[i], rev[i]);
            prev = rev[i];
            if (i < rev.Length - 1)
                total += Conv(rev[i], rev[i], 3);
        }
        return total + Norm(ch[0]) + Conv(ch[0], rgb, 3);
    }

    [Fact]
    public void Sd15VaeHasTheDocumentedSizeAndLayout()
    {
        var shapes = VaeConfig.Sd15.ParameterShapes();
        var count = VaeConfig.Sd15.CountParameters();
        Assert.Equal(83_653_863L, count.Parameters);
        Assert.Equal(ExpectedParameters(new[] { 128, 256, 512, 512 }, 2, 4, 3), count.Parameters);
        Assert.Equal(248, count.Tensors);
        var expected = new Dictionary<string, long[]>
        {
            ["encoder.conv_in.weight"] = new long[] { 128, 3, 3, 3 },
            ["encoder.down_blocks.0.resnets.1.norm2.weight"] = new long[] { 128 },
            ["encoder.down_blocks.0.downsamplers.0.conv.weight"] = new long[] { 128, 128, 3, 3 },
            ["encoder.down_blocks.1.resnets.0.conv_shortcut.weight"] = new long[] { 256, 128, 1, 1 },
            ["encoder.down_blocks.3.resnets.1.conv2.bias"] = new long[] { 512 },
            ["encoder.mid_block.resnets.1.conv1.weight"] = new long[] { 512, 512, 3, 3 },
            ["encoder.mid_block.attentions.0.group_norm.weight"] = new long[] { 512 },
            ["encoder.mid_block.attentions.0.to_q.weight"] = new long[] { 512, 512 },
            ["encoder.mid_block.attentions.0.to_k.bias"] = new long[] { 512 },
            ["encoder.mid_block.attentions.0.to_out.0.weight"] = new long[] { 512, 512 },
            ["encoder.conv_norm_out.weight"] = new long[] { 512 },
            ["encoder.conv_out.weight"] = new long[] { 8, 512, 3, 3 },
            ["quant_conv.weight"] = new long[] { 8, 8, 1, 1 },
            ["post_quant_conv.weight"] = new long[] { 4, 4, 1, 1 },
            ["decoder.conv_in.weight"] = new long[] { 512, 4, 3, 3 },
            ["decoder.mid_block.attentions.0.to_v.weight"] = new long[] { 512, 512 },
            ["decoder.up_blocks.0.resnets.2.conv1.weight"] = new long[] { 512, 512, 3, 3 },
            ["decoder.up_blocks.0.upsamplers.0.conv.weight"] = new long[] { 512, 512, 3, 3 },
            ["decoder.up_blocks.2.resnets.0.conv_shortcut.weight"] = new long[] { 256, 512, 1, 1 },
            ["decoder.up_blocks.3.resnets.0.conv_shortcut.weight"] = new long[] { 128, 256, 1, 1 },
            ["decoder.up_blocks.3.resnets.2.norm1.bias"] = new long[] { 128 },
            ["decoder.conv_norm_out.bias"] = new long[] { 128 },
            ["decoder.conv_out.weight"] = new long[] { 3, 128, 3, 3 },
        };
        foreach (var (name, shape) in expected)
            Assert.True(shapes.TryGetValue(name, out var actual) && actual.SequenceEqual(shape), name);
        Assert.DoesNotContain(shapes.Keys, k => k.StartsWith("decoder.up_blocks.3.upsamplers", StringComparison.Ordinal));
        Assert.DoesNotContain(shapes.Keys, k => k.StartsWith("encoder.down_blocks.3.downsamplers", StringComparison.Ordinal));
        Assert.DoesNotContain(shapes.Keys, k => k.Contains("time_emb_proj", StringComparison.Ordinal));
        Assert.Equal(3, shapes.Keys.Count(k => k.StartsWith("decoder.up_blocks.1.resnets.", StringComparison.Ordinal) && k.EndsWith("conv1.weight", StringComparison.Ordinal)));
    }

    [Fact]
    public void TinyVaeCountMatchesTheArchitecture() =>
        Assert.Equal(ExpectedParameters(new[] { 16, 32 }, 1, 4, 3), VaeConfig.Tiny.CountParameters().Parameters);

    [Fact]
    public void EncodeGivesMeanAndLogVarAndDecodeRestoresTheImageShape()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        using var vae = new AutoencoderKL(VaeConfig.Tiny);
        var images = torch.rand(2, 3, 16, 16) * 2 - 1;
        using var posterior = vae.Encode(images);
        Assert.Equal(new long[] { 2, 4, 8, 8 }, posterior.Mean.shape);
        Assert.Equal(new long[] { 2, 4, 8, 8 }, posterior.LogVar.shape);
        Assert.True(posterior.LogVar.le(20).all().item<bool>() && posterior.LogVar.ge(-30).all().item<bool>());
        var decoded = vae.Decode(posterior.Mean);
        Assert.Equal(new long[] { 2, 3, 16, 16 }, decoded.shape);
        Assert.True(decoded.isfinite().all().item<bool>());
        Assert.True(vae.forward(images).allclose(decoded));
    }

    [Fact]
    public void SampleIsMeanPlusStdTimesNoiseFromTheGivenGenerator()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        using var vae = new AutoencoderKL(VaeConfig.Tiny);
        using var posterior = vae.Encode(torch.rand(1, 3, 16, 16));
        var a = posterior.Sample(new Generator(7));
        var b = posterior.Sample(new Generator(7));
        var c = posterior.Sample(new Generator(8));
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.eq(c).all().item<bool>());
        var noise = torch.randn(posterior.Mean.shape, generator: new Generator(7));
        var expected = posterior.Mean + (posterior.LogVar * 0.5).exp() * noise;
        Assert.True(a.allclose(expected, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void GradientsReachTheEncoderThroughAReconstructionLoss()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        using var vae = new AutoencoderKL(VaeConfig.Tiny);
        var images = torch.rand(1, 3, 16, 16);
        using var posterior = vae.Encode(images);
        var loss = (vae.Decode(posterior.Sample(new Generator(1))) - images).pow(2).mean();
        loss.backward();
        var grad = vae.named_parameters().First(p => p.name == "encoder.conv_in.weight").parameter.grad;
        Assert.NotNull(grad);
        Assert.True(grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void BadInputAndConfigAreNamed()
    {
        using var vae = new AutoencoderKL(VaeConfig.Tiny);
        using var wrongChannels = torch.zeros(1, 1, 16, 16);
        Assert.Equal("InvalidModelInput", Assert.Throws<KohyaException>(() => vae.Encode(wrongChannels)).ErrorId);
        using var oddSize = torch.zeros(1, 3, 15, 16);
        Assert.Equal("InvalidModelInput", Assert.Throws<KohyaException>(() => vae.Encode(oddSize)).ErrorId);
        var ex = Assert.Throws<KohyaException>(() => new AutoencoderKL(VaeConfig.Tiny with { BlockOutChannels = new[] { 16, 20 } }));
        Assert.Equal("InvalidModelConfig", ex.ErrorId);
        Assert.Equal(nameof(VaeConfig.BlockOutChannels), ex.Target);
        Assert.Equal(nameof(VaeConfig.ScalingFactor), Assert.Throws<KohyaException>(() => (VaeConfig.Sd15 with { ScalingFactor = 0 }).Validate()).Target);
        Assert.Equal("UnknownModelPreset", Assert.Throws<KohyaException>(() => VaeConfig.FromPreset("sdxl")).ErrorId);
        Assert.Equal(0.18215, VaeConfig.FromPreset("SD15").ScalingFactor);
    }
}
