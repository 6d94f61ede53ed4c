using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// One up level of the UNet. Inputs: hidden states [B, C, H, W], this level's skip connections (oldest
/// first; consumed from the last), time embedding [B, T], text states [B, S, D] (ignored by levels without
/// attention), and the spatial size to upsample to (null: ×2; ignored by the last level, which has no
/// upsampler).
/// </summary>
public abstract class UNetUpBlock : nn.Module<Tensor, IReadOnlyList<Tensor>, Tensor, Tensor, long[]?, Tensor>
{
    protected UNetUpBlock(string name) : base(name) { }

    /// <summary>Resnets in this level (= skip connections it consumes).</summary>
    public abstract int ResnetCount { get; }

    /// <summary>
    /// The level's resnets: each takes the hidden states concatenated with one skip connection (the last
    /// one's skip comes from the level below, <paramref name="inChannels"/> wide).
    /// </summary>
    protected static ResnetBlock2D[] BuildResnets(long inChannels, long prevOutputChannels, long outChannels, long tembChannels,
        int layers, long groups, double eps, Device? device, ScalarType? dtype) =>
        Enumerable.Range(0, layers)
            .Select(i => new ResnetBlock2D(
                (i == 0 ? prevOutputChannels : outChannels) + (i == layers - 1 ? inChannels : outChannels),
                outChannels, tembChannels, groups, eps, device, dtype))
            .ToArray();

    /// <summary>
    /// Runs the resnets over the hidden states joined with the skips (newest first), each optionally
    /// followed by <paramref name="after"/> (the attention of cross-attention levels), then the upsampler.
    /// </summary>
    protected Tensor ForwardLevel(Tensor hidden, IReadOnlyList<Tensor> skips, Tensor temb, IList<ResnetBlock2D> resnets,
        Func<int, Tensor, Tensor>? after, Upsample2D? upsampler, long[]? upsampleSize)
    {
        if (skips.Count != resnets.Count)
            throw new ArgumentException($"{GetName()} needs {resnets.Count} skip connections, got {skips.Count}.", nameof(skips));
        var h = hidden;
        for (int i = 0; i < resnets.Count; i++)
        {
            using var joined = torch.cat(new[] { h, skips[skips.Count - 1 - i] }, 1);
            if (!ReferenceEquals(h, hidden))
                h.Dispose();
            var r = resnets[i].forward(joined, temb);
            if (after is null)
            {
                h = r;
                continue;
            }
            using (r)
                h = after(i, r);
        }
        if (upsampler is null)
            return h;
        using (h)
            return upsampler.forward(h, upsampleSize);
    }
}
