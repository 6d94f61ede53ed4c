using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>diffusers' <c>GEGLU</c>: <c>proj</c> to twice the width, split in (hidden, gate), hidden × GELU(gate).</summary>
public sealed class GEGLU : nn.Module<Tensor, Tensor>
{
    private readonly Linear proj;

    public GEGLU(long dimIn, long dimOut, Device? device = null, ScalarType? dtype = null) : base(nameof(GEGLU))
    {
        proj = nn.Linear(dimIn, dimOut * 2, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var projected = proj.call(input);
        var halves = projected.chunk(2, -1);
        using var hidden = halves[0];
        using var gate = halves[1];
        using var gelu = nn.functional.gelu(gate);
        return hidden * gelu;
    }
}
