namespace KohyaPS.Engine.Models;

/// <summary>The kind of one UNet down level; the names are diffusers' <c>down_block_types</c> strings.</summary>
public enum DownBlockType
{
    /// <summary>Resnets each followed by a cross-attention transformer, then a downsampler.</summary>
    CrossAttnDownBlock2D,

    /// <summary>Resnets only, then a downsampler.</summary>
    DownBlock2D,
}
