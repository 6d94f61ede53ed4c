namespace KohyaPS.Engine.Models;

/// <summary>The kind of one UNet up level; the names are diffusers' <c>up_block_types</c> strings.</summary>
public enum UpBlockType
{
    /// <summary>Resnets only (over the concatenated skip connections), then an upsampler.</summary>
    UpBlock2D,

    /// <summary>Resnets each followed by a cross-attention transformer, then an upsampler.</summary>
    CrossAttnUpBlock2D,
}
