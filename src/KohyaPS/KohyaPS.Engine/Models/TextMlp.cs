using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>CLIP's <c>mlp</c>: <c>fc1</c> → quick GELU (x·σ(1.702x), CLIP's activation) → <c>fc2</c>.</summary>
public sealed class TextMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public TextMlp(long width, long intermediate, Device? device = null, ScalarType? dtype = null) : base(nameof(TextMlp))
    {
        fc1 = nn.Linear(width, intermediate, hasBias: true, device: device, dtype: dtype);
        fc2 = nn.Linear(intermediate, width, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var h = fc1.call(input);
        using var scaled = h * 1.702;
        using var gate = scaled.sigmoid();
        using var activated = h * gate;
        return fc2.call(activated);
    }
}
