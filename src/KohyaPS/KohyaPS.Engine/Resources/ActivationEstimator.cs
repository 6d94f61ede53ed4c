using KohyaPS.Engine.Models;

namespace KohyaPS.Engine.Resources;

/// <summary>
/// An analytic count of the activations autograd keeps for one training step, per sample, walked over the same
/// level structure <see cref="UNet2DConditionModel"/> builds (channels, skips, resamplers). Counted per block, for
/// n positions of c channels: a resnet keeps 3·c_in·n + 5·c·n elements (its input, norm and SiLU outputs, the two
/// convolutions, the time-embedding sum); a transformer block 31·c·n (norms, q/k/v, attention outputs, GEGLU's 8c
/// projection and gate, residuals) plus the attention probabilities and scores, 2·heads·n·n for self-attention and
/// 2·heads·n·S for cross-attention over S text tokens; a Transformer2DModel adds 5·c·n around its blocks; resamplers keep
/// their input and output. The text encoder, when trained, keeps 26·L·d + 2·heads·L² per layer. With gradient
/// checkpointing only each block's input is kept, plus the largest block's activations while it is recomputed.
/// Attention scores are counted as the math kernel stores them (CPU); CUDA's flash/memory-efficient kernels keep
/// none, so there the figure is an upper bound. The VAE runs without gradients and is not counted.
/// </summary>
public static class ActivationEstimator
{
    public const string Description =
        "analytic: saved tensors per resnet/transformer block walked over the UNet's levels (math attention, scores included); " +
        "with gradient checkpointing, block inputs plus the largest block";

    /// <summary>Elements kept per sample for a UNet forward/backward at a sample of <paramref name="side"/>×<paramref name="side"/>.</summary>
    public static long UNetElements(UNetConfig config, long side, long textTokens, bool gradientCheckpointing)
    {
        ArgumentNullException.ThrowIfNull(config);
        var blocks = new List<(long Inner, long Input)>();
        var ch = config.BlockOutChannels;
        int levels = config.Levels;
        long n = side * side;
        blocks.Add((config.InChannels * n + ch[0] * n, config.InChannels * n)); // conv_in
        var skips = new List<long> { ch[0] };
        long c = ch[0];
        for (int i = 0; i < levels; i++)
        {
            bool attention = config.DownBlockTypes[i] == DownBlockType.CrossAttnDownBlock2D;
            for (int j = 0; j < config.LayersPerBlock; j++)
            {
                blocks.Add((Resnet(c, ch[i], n), c * n));
                c = ch[i];
                if (attention)
                    blocks.Add((Transformer(c, config.AttentionHeads[i], n, textTokens, config.TransformerLayersPerBlock), c * n));
                skips.Add(c);
            }
            if (i < levels - 1)
            {
                blocks.Add((c * n + c * (n / 4), c * n));
                n /= 4;
                skips.Add(c);
            }
        }
        blocks.Add((Resnet(c, c, n), c * n));
        blocks.Add((Transformer(c, config.AttentionHeads[levels - 1], n, textTokens, config.TransformerLayersPerBlock), c * n));
        blocks.Add((Resnet(c, c, n), c * n));
        for (int i = 0; i < levels; i++)
        {
            int level = levels - 1 - i;
            bool attention = config.UpBlockTypes[i] == UpBlockType.CrossAttnUpBlock2D;
            for (int j = 0; j <= config.LayersPerBlock; j++)
            {
                long skip = skips[^1];
                skips.RemoveAt(skips.Count - 1);
                blocks.Add((Resnet(c + skip, ch[level], n), (c + skip) * n));
                c = ch[level];
                if (attention)
                    blocks.Add((Transformer(c, config.AttentionHeads[level], n, textTokens, config.TransformerLayersPerBlock), c * n));
            }
            if (i < levels - 1)
            {
                blocks.Add((2 * c * n * 4, c * n)); // nearest upsample + conv output
                n *= 4;
            }
        }
        blocks.Add((3 * c * n + config.OutChannels * n, c * n)); // norm, SiLU, conv_out
        return Combine(blocks, gradientCheckpointing);
    }

    /// <summary>Elements kept per sample by a trained text encoder.</summary>
    public static long TextEncoderElements(TextEncoderConfig config, bool gradientCheckpointing)
    {
        ArgumentNullException.ThrowIfNull(config);
        long l = config.MaxLength, d = config.Width;
        var blocks = Enumerable.Range(0, config.Layers)
            .Select(_ => (26 * l * d + 2L * config.Heads * l * l, l * d))
            .Append((2 * l * d, l * d))
            .ToList();
        return Combine(blocks, gradientCheckpointing);
    }

    private static long Combine(List<(long Inner, long Input)> blocks, bool gradientCheckpointing) =>
        gradientCheckpointing
            ? blocks.Sum(b => b.Input) + blocks.Max(b => b.Inner)
            : blocks.Sum(b => b.Inner);

    private static long Resnet(long cin, long c, long n) => 3 * cin * n + 5 * c * n;

    private static long Transformer(long c, long heads, long n, long textTokens, int layers) =>
        5 * c * n + layers * (31 * c * n + 2 * heads * n * n + 2 * heads * n * textTokens);
}
