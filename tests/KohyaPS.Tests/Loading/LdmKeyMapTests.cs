using KohyaPS.Engine.Loading;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;

namespace KohyaPS.Tests.Loading;

/// <summary>
/// The LDM side is written out here from the original CompVis architecture (openaimodel.UNetModel,
/// autoencoder Encoder/Decoder, FrozenCLIPEmbedder), independently of the map's rules, and compared with the map.
/// </summary>
public sealed class LdmKeyMapTests
{
    private static IEnumerable<string> WB(string module) => new[] { module + ".weight", module + ".bias" };

    private static IEnumerable<string> LdmResBlock(string p, bool skip) =>
        new[] { "in_layers.0", "in_layers.2", "emb_layers.1", "out_layers.0", "out_layers.3" }.Concat(skip ? new[] { "skip_connection" } : Array.Empty<string>())
            .SelectMany(m => WB(p + m));

    private static IEnumerable<string> LdmSpatialTransformer(string p)
    {
        var keys = new List<string>();
        keys.AddRange(WB(p + "norm"));
        keys.AddRange(WB(p + "proj_in"));
        keys.AddRange(WB(p + "proj_out"));
        string b = p + "transformer_blocks.0.";
        foreach (string attn in new[] { "attn1", "attn2" })
        {
            keys.AddRange(new[] { "to_q", "to_k", "to_v" }.Select(x => $"{b}{attn}.{x}.weight"));
            keys.AddRange(WB($"{b}{attn}.to_out.0"));
        }
        keys.AddRange(WB(b + "ff.net.0.proj"));
        keys.AddRange(WB(b + "ff.net.2"));
        foreach (string n in new[] { "norm1", "norm2", "norm3" })
            keys.AddRange(WB(b + n));
        return keys;
    }

    /// <summary>SD1.5's UNet in LDM names: 12 input blocks, the middle block, 12 output blocks.</summary>
    private static List<string> Sd15UNetLdmKeys()
    {
        var keys = new List<string>();
        keys.AddRange(WB("time_embed.0"));
        keys.AddRange(WB("time_embed.2"));
        keys.AddRange(WB("input_blocks.0.0"));
        int[] mult = { 1, 2, 4, 4 };
        int block = 1, ch = 320;
        for (int level = 0; level < 4; level++)
        {
            for (int r = 0; r < 2; r++, block++)
            {
                int outCh = 320 * mult[level];
                keys.AddRange(LdmResBlock($"input_blocks.{block}.0.", ch != outCh));
                ch = outCh;
                if (level < 3)
                    keys.AddRange(LdmSpatialTransformer($"input_blocks.{block}.1."));
            }
            if (level < 3)
                keys.AddRange(WB($"input_blocks.{block++}.0.op"));
        }
        keys.AddRange(LdmResBlock("middle_block.0.", false));
        keys.AddRange(LdmSpatialTransformer("middle_block.1."));
        keys.AddRange(LdmResBlock("middle_block.2.", false));
        block = 0;
        for (int level = 0; level < 4; level++)
        {
            for (int r = 0; r < 3; r++, block++)
            {
                keys.AddRange(LdmResBlock($"output_blocks.{block}.0.", true)); // skip concatenation: channels always change
                bool attention = level > 0;
                if (attention)
                    keys.AddRange(LdmSpatialTransformer($"output_blocks.{block}.1."));
                if (r == 2 && level < 3)
                    keys.AddRange(WB($"output_blocks.{block}.{(attention ? 2 : 1)}.conv"));
            }
        }
        keys.AddRange(WB("out.0"));
        keys.AddRange(WB("out.2"));
        return keys.Select(k => LdmKeyMap.UNetPrefix + k).ToList();
    }

    private static IEnumerable<string> LdmVaeResnet(string p, bool shortcut) =>
        new[] { "norm1", "conv1", "norm2", "conv2" }.Concat(shortcut ? new[] { "nin_shortcut" } : Array.Empty<string>()).SelectMany(m => WB(p + m));

    private static IEnumerable<string> LdmVaeMid(string side) =>
        LdmVaeResnet($"{side}.mid.block_1.", false)
            .Concat(new[] { "norm", "q", "k", "v", "proj_out" }.SelectMany(m => WB($"{side}.mid.attn_1.{m}")))
            .Concat(LdmVaeResnet($"{side}.mid.block_2.", false));

    /// <summary>SD1.5's VAE in LDM names (decoder levels numbered bottom-up: up.3 is the 512-channel level after the mid block).</summary>
    private static List<string> Sd15VaeLdmKeys()
    {
        int[] ch = { 128, 256, 512, 512 };
        var keys = new List<string>();
        keys.AddRange(WB("encoder.conv_in"));
        int prev = 128;
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 2; j++)
                keys.AddRange(LdmVaeResnet($"encoder.down.{i}.block.{j}.", j == 0 && prev != ch[i]));
            prev = ch[i];
            if (i < 3)
                keys.AddRange(WB($"encoder.down.{i}.downsample.conv"));
        }
        keys.AddRange(LdmVaeMid("encoder"));
        keys.AddRange(WB("encoder.norm_out"));
        keys.AddRange(WB("encoder.conv_out"));
        keys.AddRange(WB("quant_conv"));
        keys.AddRange(WB("post_quant_conv"));
        keys.AddRange(WB("decoder.conv_in"));
        keys.AddRange(LdmVaeMid("decoder"));
        prev = 512;
        for (int i = 3; i >= 0; i--)
        {
            for (int j = 0; j < 3; j++)
                keys.AddRange(LdmVaeResnet($"decoder.up.{i}.block.{j}.", j == 0 && prev != ch[i]));
            prev = ch[i];
            if (i > 0)
                keys.AddRange(WB($"decoder.up.{i}.upsample.conv"));
        }
        keys.AddRange(WB("decoder.norm_out"));
        keys.AddRange(WB("decoder.conv_out"));
        return keys.Select(k => LdmKeyMap.VaePrefix + k).ToList();
    }

    private static List<string> ClipLdmKeys()
    {
        const string p = LdmKeyMap.TextEncoderPrefix + "text_model.";
        var keys = new List<string> { p + "embeddings.token_embedding.weight", p + "embeddings.position_embedding.weight" };
        for (int i = 0; i < 12; i++)
        {
            foreach (string m in new[] { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "layer_norm1", "layer_norm2", "mlp.fc1", "mlp.fc2" })
                keys.AddRange(WB($"{p}encoder.layers.{i}.{m}"));
        }
        keys.AddRange(WB(p + "final_layer_norm"));
        return keys;
    }

    private static void AssertOneToOne(IReadOnlyList<KeyMapping> map, IReadOnlyCollection<string> ldm, IReadOnlyCollection<string> model)
    {
        Assert.Equal(ldm.Count, ldm.Distinct().Count());
        Assert.Equal(map.Count, map.Select(m => m.LdmKey).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(map.Count, map.Select(m => m.ModelKey).Distinct(StringComparer.Ordinal).Count());
        var mappedLdm = map.Select(m => m.LdmKey).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(ldm, k => !mappedLdm.Contains(k));        // every LDM key reaches a model key
        Assert.DoesNotContain(mappedLdm, k => !ldm.Contains(k));        // and the map invents none
        Assert.Equal(model.OrderBy(k => k, StringComparer.Ordinal), map.Select(m => m.ModelKey).OrderBy(k => k, StringComparer.Ordinal));
    }

    [Fact]
    public void UNetMapCoversEverySd15KeyBothWays()
    {
        var ldm = Sd15UNetLdmKeys();
        Assert.Equal(686, ldm.Count);
        AssertOneToOne(LdmKeyMap.ForUNet(UNetConfig.Sd15), ldm, UNetConfig.Sd15.ParameterShapes().Keys.ToList());
        var map = LdmKeyMap.ForUNet(UNetConfig.Sd15).ToDictionary(m => m.ModelKey, m => m.LdmKey);
        Assert.Equal("model.diffusion_model.output_blocks.8.2.conv.weight", map["up_blocks.2.upsamplers.0.conv.weight"]);
        Assert.Equal("model.diffusion_model.output_blocks.2.1.conv.bias", map["up_blocks.0.upsamplers.0.conv.bias"]);
        Assert.Equal("model.diffusion_model.input_blocks.4.0.skip_connection.weight", map["down_blocks.1.resnets.0.conv_shortcut.weight"]);
        Assert.Equal("model.diffusion_model.input_blocks.7.1.transformer_blocks.0.attn2.to_k.weight",
            map["down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_k.weight"]);
    }

    [Fact]
    public void VaeMapCoversEverySd15KeyBothWays()
    {
        var ldm = Sd15VaeLdmKeys();
        Assert.Equal(248, ldm.Count);
        var map = LdmKeyMap.ForVae(VaeConfig.Sd15);
        AssertOneToOne(map, ldm, VaeConfig.Sd15.ParameterShapes().Keys.ToList());
        var byModel = map.ToDictionary(m => m.ModelKey);
        Assert.Equal("first_stage_model.decoder.up.3.block.2.conv1.weight", byModel["decoder.up_blocks.0.resnets.2.conv1.weight"].LdmKey);
        var q = byModel["encoder.mid_block.attentions.0.to_q.weight"];
        Assert.Equal("first_stage_model.encoder.mid.attn_1.q.weight", q.LdmKey);
        Assert.True(q.LdmIsConv1x1);
        Assert.Equal(new long[] { 512, 512, 1, 1 }, q.LdmShape(new long[] { 512, 512 }));
        Assert.False(byModel["encoder.mid_block.attentions.0.to_q.bias"].LdmIsConv1x1);
        Assert.False(byModel["encoder.mid_block.attentions.0.group_norm.weight"].LdmIsConv1x1);
        Assert.Equal(8, map.Count(m => m.LdmIsConv1x1)); // q, k, v, proj_out weights of two mid blocks
    }

    [Fact]
    public void TextEncoderMapCoversEveryClipKeyBothWays()
    {
        var ldm = ClipLdmKeys();
        Assert.Equal(196, ldm.Count);
        var map = LdmKeyMap.ForTextEncoder(TextEncoderConfig.ClipVitL14);
        AssertOneToOne(map, ldm, TextEncoderConfig.ClipVitL14.ParameterShapes().Keys.ToList());
        Assert.All(map, m => Assert.Equal("text_model." + m.ModelKey, m.DiffusersKey));
    }

    [Fact]
    public void TinyConfigsMapWithoutGaps()
    {
        // Different layer counts move every LDM block index; the map must still be one to one.
        foreach (var map in new[] { LdmKeyMap.ForUNet(UNetConfig.Tiny), LdmKeyMap.ForUNet(UNetConfig.Small), LdmKeyMap.ForVae(VaeConfig.Tiny) })
        {
            Assert.Equal(map.Count, map.Select(m => m.LdmKey).Distinct(StringComparer.Ordinal).Count());
            Assert.DoesNotContain(map, m => m.LdmKey.Contains("_blocks.", StringComparison.Ordinal) && !m.LdmKey.Contains("transformer_blocks", StringComparison.Ordinal)
                                            && !m.LdmKey.Contains("input_blocks", StringComparison.Ordinal) && !m.LdmKey.Contains("output_blocks", StringComparison.Ordinal));
        }
        var tiny = LdmKeyMap.ForUNet(UNetConfig.Tiny).ToDictionary(m => m.ModelKey, m => m.LdmKey);
        // Tiny: one resnet per level, so level 1 starts at input block 3 and the upsampler sits in output block 1.
        Assert.Equal("model.diffusion_model.input_blocks.2.0.op.weight", tiny["down_blocks.0.downsamplers.0.conv.weight"]);
        Assert.Equal("model.diffusion_model.input_blocks.3.0.in_layers.2.weight", tiny["down_blocks.1.resnets.0.conv1.weight"]);
        Assert.Equal("model.diffusion_model.output_blocks.1.1.conv.weight", tiny["up_blocks.0.upsamplers.0.conv.weight"]);
    }
}
