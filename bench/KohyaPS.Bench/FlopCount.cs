using KohyaPS.Engine.Models;

namespace KohyaPS.Bench;

/// <summary>
/// Forward FLOPs of the training model (text encoder + UNet), counted from the configs the engine builds from:
/// 2 × multiply-adds of every convolution, linear layer and attention product (QKᵀ and AV). Norms, activations and
/// other element-wise work are left out, as is usual for FLOP counts; a training step is taken as 3 × forward.
/// The PyTorch peer counts the same quantities with forward hooks, which cross-checks this walk.
/// </summary>
public static class FlopCount
{
    public static double Forward(UNetConfig unet, TextEncoderConfig text, long batch, long resolution)
    {
        double f = 0;
        long b = batch, tokens = text.MaxLength, w = text.Width;

        // Text encoder: q, k, v, out projections, causal attention products (counted in full), MLP.
        f += text.Layers * (4 * Linear(w, w, b * tokens) + Attention(b, tokens, tokens, w) + Linear(w, text.IntermediateSize, b * tokens) + Linear(text.IntermediateSize, w, b * tokens));

        var ch = unet.BlockOutChannels;
        int levels = unet.Levels;
        long temb = unet.TimeEmbeddingDim;
        long cross = unet.CrossAttentionDim;
        long S = tokens;

        f += Linear(ch[0], temb, b) + Linear(temb, temb, b);          // time embedding
        f += Conv(unet.InChannels, ch[0], 3, b, resolution);           // conv_in

        for (int i = 0; i < levels; i++)
        {
            long size = resolution >> i;
            long input = i == 0 ? ch[0] : ch[i - 1];
            for (int j = 0; j < unet.LayersPerBlock; j++)
            {
                f += Resnet(j == 0 ? input : ch[i], ch[i], temb, b, size);
                if (unet.DownBlockTypes[i] == DownBlockType.CrossAttnDownBlock2D)
                    f += Transformer(ch[i], cross, unet.TransformerLayersPerBlock, b, size, S);
            }
            if (i != levels - 1)
                f += Conv(ch[i], ch[i], 3, b, size / 2);                // stride-2 downsampler
        }

        long bottom = resolution >> (levels - 1);
        f += 2 * Resnet(ch[^1], ch[^1], temb, b, bottom) + Transformer(ch[^1], cross, unet.TransformerLayersPerBlock, b, bottom, S);

        for (int i = 0; i < levels; i++)
        {
            int level = levels - 1 - i;
            long size = resolution >> level;
            long output = ch[level], previous = ch[Math.Min(level + 1, levels - 1)], skipIn = ch[Math.Max(level - 1, 0)];
            int layers = unet.LayersPerBlock + 1;
            for (int j = 0; j < layers; j++)
            {
                long cin = (j == 0 ? previous : output) + (j == layers - 1 ? skipIn : output);
                f += Resnet(cin, output, temb, b, size);
                if (unet.UpBlockTypes[i] == UpBlockType.CrossAttnUpBlock2D)
                    f += Transformer(output, cross, unet.TransformerLayersPerBlock, b, size, S);
            }
            if (i != levels - 1)
                f += Conv(output, output, 3, b, size * 2);             // conv after nearest upsampling
        }

        f += Conv(ch[0], unet.OutChannels, 3, b, resolution);          // conv_out
        return f;
    }

    private static double Conv(long cin, long cout, long k, long b, long outSize) => 2.0 * cin * cout * k * k * b * outSize * outSize;

    private static double Linear(long fin, long fout, long rows) => 2.0 * fin * fout * rows;

    /// <summary>QKᵀ and AV: 2 × 2 × B × Lq × Lk × inner (summed over heads).</summary>
    private static double Attention(long b, long lq, long lk, long inner) => 4.0 * b * lq * lk * inner;

    private static double Resnet(long cin, long cout, long temb, long b, long size)
    {
        double f = Conv(cin, cout, 3, b, size) + Linear(temb, cout, b) + Conv(cout, cout, 3, b, size);
        if (cin != cout) f += Conv(cin, cout, 1, b, size);
        return f;
    }

    private static double Transformer(long c, long cross, int layers, long b, long size, long textTokens)
    {
        long L = size * size, rows = b * L;
        double block =
            3 * Linear(c, c, rows) + Attention(b, L, L, c) + Linear(c, c, rows)                                   // attn1
            + Linear(c, c, rows) + 2 * Linear(cross, c, b * textTokens) + Attention(b, L, textTokens, c) + Linear(c, c, rows) // attn2
            + Linear(c, 8 * c, rows) + Linear(4 * c, c, rows);                                                     // GEGLU ff
        return 2 * Conv(c, c, 1, b, size) + layers * block;                                                       // proj_in/out
    }
}
