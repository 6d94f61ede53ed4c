using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>Upsample2D</c> with <c>use_conv=True</c>: nearest-neighbour upsampling (×2, or to an explicit
/// size so that odd skip-connection sizes line up) followed by a 3×3 <c>conv</c>.
/// </summary>
public sealed class Upsample2D : nn.Module<Tensor, long[]?, Tensor>
{
    private readonly Conv2d conv;

    public Upsample2D(long channels, Device? device = null, ScalarType? dtype = null) : base(nameof(Upsample2D))
    {
        conv = nn.Conv2d(channels, channels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <param name="input">[B, C, H, W]</param>
    /// <param name="outputSize">[H', W'] to upsample to, or null for [2H, 2W].</param>
    public override Tensor forward(Tensor input, long[]? outputSize)
    {
        using var upsampled = outputSize is null
            ? nn.functional.interpolate(input, scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Nearest)
            : nn.functional.interpolate(input, size: outputSize, mode: InterpolationMode.Nearest);
        return conv.call(upsampled);
    }
}
