using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>diffusers' <c>Downsample2D</c> with <c>use_conv=True</c>: a 3×3 <c>conv</c> of stride 2, padding 1.</summary>
public sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public Downsample2D(long channels, Device? device = null, ScalarType? dtype = null) : base(nameof(Downsample2D))
    {
        conv = nn.Conv2d(channels, channels, 3, stride: 2, padding: 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => conv.call(input);
}
