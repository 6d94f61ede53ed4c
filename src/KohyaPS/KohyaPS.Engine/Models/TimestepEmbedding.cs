using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>diffusers' <c>TimestepEmbedding</c>: <c>linear_1</c> → SiLU → <c>linear_2</c>.</summary>
public sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear_1;
    private readonly Linear linear_2;

    public TimestepEmbedding(long inChannels, long timeEmbedDim, Device? device = null, ScalarType? dtype = null)
        : base(nameof(TimestepEmbedding))
    {
        linear_1 = nn.Linear(inChannels, timeEmbedDim, hasBias: true, device: device, dtype: dtype);
        linear_2 = nn.Linear(timeEmbedDim, timeEmbedDim, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor sample)
    {
        using var h = linear_1.forward(sample);
        using var a = nn.functional.silu(h);
        return linear_2.forward(a);
    }
}
