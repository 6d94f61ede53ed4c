using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>FeedForward</c> with <c>activation_fn="geglu"</c>, mult 4: <c>net.0</c> = GEGLU(dim → 4·dim),
/// <c>net.1</c> = dropout (0), <c>net.2</c> = Linear(4·dim → dim).
/// </summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private const int Mult = 4;
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> net;

    public FeedForward(long dim, Device? device = null, ScalarType? dtype = null) : base(nameof(FeedForward))
    {
        long inner = dim * Mult;
        net = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            new GEGLU(dim, inner, device, dtype),
            nn.Dropout(0.0),
            nn.Linear(inner, dim, hasBias: true, device: device, dtype: dtype));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var a = net[0].forward(input);
        using var b = net[1].forward(a);
        return net[2].call(b);
    }
}
