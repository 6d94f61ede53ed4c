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
}
