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
}
