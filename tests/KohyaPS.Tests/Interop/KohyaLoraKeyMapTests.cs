using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Interop;
using KohyaPS.Engine.Models;

namespace KohyaPS.Tests.Interop;

public sealed class KohyaLoraKeyMapTests
{
    private static readonly string[] UNetPaths =
    [
        "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q",
        "down_blocks.0.attentions.0.proj_in",
        "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj",
    ];

    private static readonly string[] TextPaths = ["text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.11.mlp.fc2"];

    [Fact]
    public void MapsBothWaysWithKohyaNames()
    {
        var map = new KohyaLoraKeyMap(UNetPaths, TextPaths);
        Assert.Equal("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight",
            map.ToKohyaName("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_down.weight"));
        Assert.Equal("lora_te_text_model_encoder_layers_11_mlp_fc2.alpha", map.ToKohyaName("text_encoder.text_model.encoder.layers.11.mlp.fc2.alpha"));
        Assert.Equal("unet.mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.lora_up.weight",
            map.ToOurName("lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj.lora_up.weight"));
        Assert.Equal(5, map.Count);
    }

    [Fact]
    public void SdxlNamingUsesTe1AndTe2()
    {
        var map = new KohyaLoraKeyMap(UNetPaths, TextPaths, ["text_model.encoder.layers.0.self_attn.q_proj"], KohyaTextEncoderNaming.Sdxl);
        Assert.Equal("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight",
            map.ToKohyaName("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_down.weight"));
        Assert.Equal("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight",
            map.ToKohyaName("text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj.lora_down.weight"));
        Assert.Equal("text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj.alpha",
            map.ToOurName("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.alpha"));
        // A single-encoder name does not belong to an SDXL map, and the reverse.
        Assert.False(map.TryToOurName("lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha", out _));
        Assert.False(new KohyaLoraKeyMap(UNetPaths, TextPaths).TryToOurName("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.alpha", out _));
        Assert.Throws<ArgumentException>(() => new KohyaLoraKeyMap(UNetPaths, TextPaths, TextPaths));
    }

    [Theory]
    [InlineData("unet.down_blocks.9.nothing.lora_down.weight")]
    [InlineData("unet.down_blocks.0.attentions.0.proj_in.weight")]
    [InlineData("vae.decoder.conv_in.lora_down.weight")]
    [InlineData("down_blocks.0.attentions.0.proj_in.lora_down.weight")]
    [InlineData("text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj.alpha")]
    public void UnknownOursIsRefused(string name)
    {
        var map = new KohyaLoraKeyMap(UNetPaths, TextPaths);
        var ex = Assert.Throws<KohyaException>(() => map.ToKohyaName(name));
        Assert.Equal(InteropErrorIds.KeyNotMapped, ex.ErrorId);
    }

    [Theory]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_out.lora_down.weight")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.lora_mid.weight")]
    [InlineData("lora_unet_.alpha")]
    [InlineData("unet.down_blocks.0.attentions.0.proj_in.alpha")]
    public void UnknownKohyaIsRefused(string name)
    {
        var ex = Assert.Throws<KohyaException>(() => new KohyaLoraKeyMap(UNetPaths, TextPaths).ToOurName(name));
        Assert.Equal(InteropErrorIds.KeyNotMapped, ex.ErrorId);
    }

    [Fact]
    public void PathsThatWouldCollideAreRefused()
    {
        var ex = Assert.Throws<KohyaException>(() => new KohyaLoraKeyMap(["a_b.c", "a.b_c"]));
        Assert.Equal(InteropErrorIds.KeyNotMapped, ex.ErrorId);
        Assert.Contains("a_b_c", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new KohyaLoraKeyMap(["a..b"]));
        Assert.Throws<ArgumentException>(() => new KohyaLoraKeyMap([""]));
    }

    [Fact]
    public void EveryModuleOfTheSd15UNetAndOurTextEncoderRoundTripsExactly()
    {
        var unetPaths = KohyaLoraKeyMap.ModulePathsFromParameterNames(UNetConfig.Sd15.ParameterShapes().Keys);
        var textPaths = KohyaLoraKeyMap.ModulePathsFromParameterNames(TextEncoderConfig.Small.ParameterShapes().Keys, "text_model.");
        var map = new KohyaLoraKeyMap(unetPaths, textPaths);
        Assert.Equal(unetPaths.Count + textPaths.Count, map.Count);
        Assert.Contains("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", unetPaths);
        Assert.Contains("text_model.encoder.layers.0.self_attn.q_proj", textPaths);

        var kohyaNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (component, paths) in new[] { ("unet", unetPaths), ("text_encoder", textPaths) })
        {
            foreach (string path in paths)
            {
                foreach (string suffix in new[] { ".lora_down.weight", ".lora_up.weight", ".alpha" })
                {
                    string ours = component + "." + path + suffix;
                    string kohya = map.ToKohyaName(ours);
                    Assert.True(kohyaNames.Add(kohya));
                    Assert.True(KohyaLoraKeys.TryParse(kohya, out _, out var c, out _));
                    Assert.Equal(component == "unet" ? KohyaLoraComponent.UNet : KohyaLoraComponent.TextEncoder, c);
                    Assert.Equal(ours, map.ToOurName(kohya));
                }
            }
        }
    }

    [Theory]
    [InlineData("lora_unet_a_b.lora_down.weight", "lora_unet_a_b", KohyaLoraComponent.UNet, KohyaLoraTensorKind.Down)]
    [InlineData("lora_te_x.lora_up.weight", "lora_te_x", KohyaLoraComponent.TextEncoder, KohyaLoraTensorKind.Up)]
    [InlineData("lora_te1_x.alpha", "lora_te1_x", KohyaLoraComponent.TextEncoder1, KohyaLoraTensorKind.Alpha)]
    [InlineData("lora_te2_text_model_x.alpha", "lora_te2_text_model_x", KohyaLoraComponent.TextEncoder2, KohyaLoraTensorKind.Alpha)]
    public void ParsesKohyaTensorNames(string name, string module, KohyaLoraComponent component, KohyaLoraTensorKind kind)
    {
        Assert.True(KohyaLoraKeys.TryParse(name, out string? m, out var c, out var k));
        Assert.Equal((module, component, kind), (m, c, k));
    }

    [Theory]
    [InlineData("lora_unet_.alpha")]
    [InlineData("lora_unet_a.b.alpha")]
    [InlineData("lora_unet_a.hada_w1_a")]
    [InlineData("lora_vae_a.alpha")]
    [InlineData("lora_unet_a.lora_down")]
    public void RejectsOtherNames(string name) => Assert.False(KohyaLoraKeys.TryParse(name, out _, out _, out _));
}
