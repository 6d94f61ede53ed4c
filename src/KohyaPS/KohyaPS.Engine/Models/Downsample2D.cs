using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>Downsample2D</c> with <c>use_conv=True</c>: a 3×3 <c>conv</c> of stride 2, padding 1 (the UNet).
/// With <c>padding: 0</c> (the VAE's encoder) the input is first padded by one on the right and bottom only, as
/// diffusers does, so that odd and even sizes halve the same way as the original LDM weights expect.
/// </summary>
public sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly bool _asymmetricPad;

    public Downsample2D(long channels, Device? device = null, ScalarType? dtype = null, long padding = 1) : base(nameof(Downsample2D))
    {
        _asymmetricPad = padding == 0;
        conv = nn.Conv2d(channels, channels, 3, stride: 2, padding: padding, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (!_asymmetricPad)
            return conv.call(input);
        using var padded = nn.functional.pad(input, new long[] { 0, 1, 0, 1 });
        return conv.call(padded);
    }
}
