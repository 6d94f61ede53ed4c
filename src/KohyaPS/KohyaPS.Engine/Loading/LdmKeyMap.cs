using System.Globalization;
using System.Text.RegularExpressions;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;

namespace KohyaPS.Engine.Loading;

/// <summary>
/// The documented map between diffusers names (what our models use) and the original LDM / CompVis single-file
/// layout, built from each model's own state-dict keys so it covers every key of any configuration, one to one.
/// <para><b>UNet</b> (prefix <c>model.diffusion_model.</c>; L = layers per block):
/// <c>conv_in</c> ↔ <c>input_blocks.0.0</c>; <c>time_embedding.linear_1/2</c> ↔ <c>time_embed.0/2</c>;
/// <c>down_blocks.i.resnets.j</c> ↔ <c>input_blocks.(i·(L+1)+j+1).0</c>, <c>down_blocks.i.attentions.j</c> ↔
/// <c>input_blocks.(i·(L+1)+j+1).1</c>, <c>down_blocks.i.downsamplers.0.conv</c> ↔ <c>input_blocks.((i+1)·(L+1)).0.op</c>;
/// <c>mid_block.resnets.0</c>, <c>attentions.0</c>, <c>resnets.1</c> ↔ <c>middle_block.0/1/2</c>;
/// <c>up_blocks.i.resnets.j</c> ↔ <c>output_blocks.(i·(L+1)+j).0</c>, <c>up_blocks.i.attentions.j</c> ↔
/// <c>output_blocks.(i·(L+1)+j).1</c>, <c>up_blocks.i.upsamplers.0.conv</c> ↔ <c>output_blocks.(i·(L+1)+L).(2 with
/// attentions, else 1).conv</c>; <c>conv_norm_out</c> ↔ <c>out.0</c>, <c>conv_out</c> ↔ <c>out.2</c>. Inside a resnet:
/// <c>norm1</c> ↔ <c>in_layers.0</c>, <c>conv1</c> ↔ <c>in_layers.2</c>, <c>time_emb_proj</c> ↔ <c>emb_layers.1</c>,
/// <c>norm2</c> ↔ <c>out_layers.0</c>, <c>conv2</c> ↔ <c>out_layers.3</c>, <c>conv_shortcut</c> ↔ <c>skip_connection</c>.
/// Transformer blocks keep their names (<c>norm</c>, <c>proj_in</c>, <c>transformer_blocks.k.attn1.to_q</c>, …).</para>
/// <para><b>VAE</b> (prefix <c>first_stage_model.</c>): <c>encoder.down_blocks.i.resnets.j</c> ↔
/// <c>encoder.down.i.block.j</c>, <c>encoder.down_blocks.i.downsamplers.0.conv</c> ↔ <c>encoder.down.i.downsample.conv</c>;
/// <c>decoder.up_blocks.i</c> ↔ <c>decoder.up.(n−1−i)</c> (LDM numbers decoder levels bottom-up), <c>.upsamplers.0.conv</c>
/// ↔ <c>.upsample.conv</c>; <c>mid_block.resnets.0/1</c> ↔ <c>mid.block_1/2</c>, <c>mid_block.attentions.0</c> ↔
/// <c>mid.attn_1</c> with <c>group_norm</c>, <c>to_q</c>, <c>to_k</c>, <c>to_v</c>, <c>to_out.0</c> ↔ <c>norm</c>, <c>q</c>,
/// <c>k</c>, <c>v</c>, <c>proj_out</c> (LDM weights are 1×1 convolutions); <c>conv_norm_out</c> ↔ <c>norm_out</c>;
/// <c>conv_shortcut</c> ↔ <c>nin_shortcut</c>; <c>conv_in</c>, <c>conv_out</c>, <c>quant_conv</c>, <c>post_quant_conv</c> unchanged.</para>
/// <para><b>Text encoder</b>: <c>cond_stage_model.transformer.text_model.X</c> ↔ diffusers file <c>text_model.X</c> ↔ our
/// <c>X</c>. The position-id buffer <c>…embeddings.position_ids</c> some files carry is not a weight and is ignored.</para>
/// </summary>
public static class LdmKeyMap
{
    public const string UNetPrefix = "model.diffusion_model.";
    public const string VaePrefix = "first_stage_model.";
    public const string TextEncoderPrefix = "cond_stage_model.transformer.";

    /// <summary>The diffusers text encoder file's prefix (<c>CLIPTextModel</c> wraps the transformer in <c>text_model</c>).</summary>
    public const string DiffusersTextPrefix = "text_model.";

    /// <summary>The position-id buffer saved by older transformers versions: not a weight; ignored when present.</summary>
    public const string PositionIdsSuffix = "embeddings.position_ids";

    private static readonly Regex DownResnet = new(@"^down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$", RegexOptions.CultureInvariant);
    private static readonly Regex DownAttention = new(@"^down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$", RegexOptions.CultureInvariant);
    private static readonly Regex DownSampler = new(@"^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$", RegexOptions.CultureInvariant);
    private static readonly Regex UpResnet = new(@"^up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$", RegexOptions.CultureInvariant);
    private static readonly Regex UpAttention = new(@"^up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$", RegexOptions.CultureInvariant);
    private static readonly Regex UpSampler = new(@"^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$", RegexOptions.CultureInvariant);
    private static readonly Regex VaeLevel = new(@"^(encoder\.down|decoder\.up)_blocks\.(\d+)\.(resnets\.(\d+)|downsamplers\.0|upsamplers\.0)\.(.+)$", RegexOptions.CultureInvariant);
    private static readonly Regex VaeMid = new(@"^(encoder|decoder)\.mid_block\.(resnets\.(\d+)|attentions\.0)\.(.+)$", RegexOptions.CultureInvariant);

    /// <summary>Every UNet tensor of <paramref name="config"/>, in state-dict order.</summary>
    public static IReadOnlyList<KeyMapping> ForUNet(UNetConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int l = config.LayersPerBlock;
        return config.ParameterShapes().Keys
            .Select(k => new KeyMapping(SdComponent.UNet, k, k, UNetPrefix + UNetToLdm(k, config, l), false))
            .ToList();
    }

    /// <summary>Every VAE tensor of <paramref name="config"/>, in state-dict order.</summary>
    public static IReadOnlyList<KeyMapping> ForVae(VaeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int levels = config.BlockOutChannels.Count;
        return config.ParameterShapes().Keys.Select(k =>
        {
            var (ldm, conv) = VaeToLdm(k, levels);
            return new KeyMapping(SdComponent.Vae, k, k, VaePrefix + ldm, conv);
        }).ToList();
    }

    /// <summary>Every text encoder tensor of <paramref name="config"/>, in state-dict order.</summary>
    public static IReadOnlyList<KeyMapping> ForTextEncoder(TextEncoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ParameterShapes().Keys
            .Select(k => new KeyMapping(SdComponent.TextEncoder, k, DiffusersTextPrefix + k, TextEncoderPrefix + DiffusersTextPrefix + k, false))
            .ToList();
    }

    /// <summary>The LDM prefix of a component's keys in a single-file checkpoint.</summary>
    public static string LdmPrefix(SdComponent component) => component switch
    {
        SdComponent.UNet => UNetPrefix,
        SdComponent.Vae => VaePrefix,
        _ => TextEncoderPrefix,
    };

    private static string UNetToLdm(string key, UNetConfig config, int l)
    {
        Match m;
        if ((m = DownResnet.Match(key)).Success)
            return $"input_blocks.{N(m, 1) * (l + 1) + N(m, 2) + 1}.0.{UNetResnetInner(m.Groups[3].Value, key)}";
        if ((m = DownAttention.Match(key)).Success)
            return $"input_blocks.{N(m, 1) * (l + 1) + N(m, 2) + 1}.1.{m.Groups[3].Value}";
        if ((m = DownSampler.Match(key)).Success)
            return $"input_blocks.{(N(m, 1) + 1) * (l + 1)}.0.op.{m.Groups[2].Value}";
        if ((m = UpResnet.Match(key)).Success)
            return $"output_blocks.{N(m, 1) * (l + 1) + N(m, 2)}.0.{UNetResnetInner(m.Groups[3].Value, key)}";
        if ((m = UpAttention.Match(key)).Success)
            return $"output_blocks.{N(m, 1) * (l + 1) + N(m, 2)}.1.{m.Groups[3].Value}";
        if ((m = UpSampler.Match(key)).Success)
        {
            bool attentions = config.UpBlockTypes[N(m, 1)] == UpBlockType.CrossAttnUpBlock2D;
            return $"output_blocks.{N(m, 1) * (l + 1) + l}.{(attentions ? 2 : 1)}.conv.{m.Groups[2].Value}";
        }
        foreach (var (from, to) in UNetFixed)
        {
            if (key.StartsWith(from, StringComparison.Ordinal))
            {
                string rest = key[from.Length..];
                return to + (from.StartsWith("mid_block.resnets", StringComparison.Ordinal) ? UNetResnetInner(rest, key) : rest);
            }
        }
        throw Unmapped(key);
    }

    private static readonly (string From, string To)[] UNetFixed =
    {
        ("conv_in.", "input_blocks.0.0."),
        ("time_embedding.linear_1.", "time_embed.0."),
        ("time_embedding.linear_2.", "time_embed.2."),
        ("mid_block.resnets.0.", "middle_block.0."),
        ("mid_block.attentions.0.", "middle_block.1."),
        ("mid_block.resnets.1.", "middle_block.2."),
        ("conv_norm_out.", "out.0."),
        ("conv_out.", "out.2."),
    };

    private static readonly (string From, string To)[] UNetResnetNames =
    {
        ("norm1.", "in_layers.0."),
        ("conv1.", "in_layers.2."),
        ("time_emb_proj.", "emb_layers.1."),
        ("norm2.", "out_layers.0."),
        ("conv2.", "out_layers.3."),
        ("conv_shortcut.", "skip_connection."),
    };

    private static readonly (string From, string To)[] VaeAttentionNames =
    {
        ("group_norm.", "norm."),
        ("to_q.", "q."),
        ("to_k.", "k."),
        ("to_v.", "v."),
        ("to_out.0.", "proj_out."),
    };

    private static string UNetResnetInner(string inner, string key) => Rename(inner, UNetResnetNames) ?? throw Unmapped(key);

    private static (string Ldm, bool Conv) VaeToLdm(string key, int levels)
    {
        Match m;
        if ((m = VaeLevel.Match(key)).Success)
        {
            bool decoder = m.Groups[1].Value == "decoder.up";
            int level = decoder ? levels - 1 - N(m, 2) : N(m, 2);
            string side = decoder ? "decoder.up" : "encoder.down";
            string rest = m.Groups[5].Value;
            if (m.Groups[4].Success)
                return ($"{side}.{level}.block.{m.Groups[4].Value}.{VaeResnetInner(rest, key)}", false);
            return ($"{side}.{level}.{(decoder ? "upsample" : "downsample")}.{rest}", false);
        }
        if ((m = VaeMid.Match(key)).Success)
        {
            string side = m.Groups[1].Value;
            string rest = m.Groups[4].Value;
            if (m.Groups[3].Success)
                return ($"{side}.mid.block_{N(m, 3) + 1}.{VaeResnetInner(rest, key)}", false);
            string renamed = Rename(rest, VaeAttentionNames) ?? throw Unmapped(key);
            return ($"{side}.mid.attn_1.{renamed}", !rest.StartsWith("group_norm.", StringComparison.Ordinal) && rest.EndsWith(".weight", StringComparison.Ordinal));
        }
        foreach (string side in new[] { "encoder.", "decoder." })
        {
            if (key.StartsWith(side + "conv_norm_out.", StringComparison.Ordinal))
                return (side + "norm_out." + key[(side.Length + "conv_norm_out.".Length)..], false);
        }
        return (key, false); // conv_in, conv_out, quant_conv, post_quant_conv keep their names
    }

    private static string VaeResnetInner(string inner, string key) =>
        inner.StartsWith("conv_shortcut.", StringComparison.Ordinal) ? "nin_shortcut." + inner["conv_shortcut.".Length..]
        : inner.StartsWith("norm1.", StringComparison.Ordinal) || inner.StartsWith("norm2.", StringComparison.Ordinal)
          || inner.StartsWith("conv1.", StringComparison.Ordinal) || inner.StartsWith("conv2.", StringComparison.Ordinal) ? inner
        : throw Unmapped(key);

    private static string? Rename(string inner, (string From, string To)[] names)
    {
        foreach (var (from, to) in names)
        {
            if (inner.StartsWith(from, StringComparison.Ordinal))
                return to + inner[from.Length..];
        }
        return null;
    }

    private static int N(Match m, int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    private static InvalidOperationException Unmapped(string key) =>
        new($"Internal error: the LDM key map has no rule for the model key '{key}'.");
}
