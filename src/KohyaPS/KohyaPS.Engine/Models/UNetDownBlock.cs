using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// One down level of the UNet. Inputs: hidden states [B, C, H, W], time embedding [B, T], text states
/// [B, S, D] (ignored by levels without attention). Output: the new hidden states and the skip
/// connections this level hands to the up path (one per resnet, plus the downsampler's output).
/// </summary>
public abstract class UNetDownBlock : nn.Module<Tensor, Tensor, Tensor, (Tensor Hidden, Tensor[] Skips)>
{
    protected UNetDownBlock(string name) : base(name) { }

    /// <summary>Resnets in this level (= skip connections before the downsampler).</summary>
    public abstract int ResnetCount { get; }

    /// <summary>The level's resnets: the first widens <paramref name="inChannels"/> to <paramref name="outChannels"/>.</summary>
    protected static ResnetBlock2D[] BuildResnets(long inChannels, long outChannels, long tembChannels, int layers, long groups, double eps,
        Device? device, ScalarType? dtype) =>
        Enumerable.Range(0, layers)
            .Select(i => new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, tembChannels, groups, eps, device, dtype))
            .ToArray();

    /// <summary>
    /// Runs the resnets, each optionally followed by <paramref name="after"/> (the attention of
    /// cross-attention levels), collecting every output as a skip, then the downsampler.
    /// </summary>
    protected static (Tensor Hidden, Tensor[] Skips) ForwardLevel(Tensor hidden, Tensor temb, IList<ResnetBlock2D> resnets,
        Func<int, Tensor, Tensor>? after, Downsample2D? downsampler)
    {
        var skips = new List<Tensor>();
        var h = hidden;
        for (int i = 0; i < resnets.Count; i++)
        {
            var r = resnets[i].forward(h, temb);
            if (after is null)
            {
                h = r;
            }
            else
            {
                using (r)
                    h = after(i, r);
            }
            skips.Add(h);
        }
        if (downsampler is not null)
        {
            h = downsampler.forward(h);
            skips.Add(h);
        }
        return (h, skips.ToArray());
    }
}
