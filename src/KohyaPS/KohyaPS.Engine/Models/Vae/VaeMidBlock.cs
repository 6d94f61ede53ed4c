using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Vae;

/// <summary>diffusers' <c>UNetMidBlock2D</c> as the VAE uses it: <c>resnets.0</c> → <c>attentions.0</c> → <c>resnets.1</c>, no time embedding.</summary>
public sealed class VaeMidBlock : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<VaeAttention> attentions;

    public VaeMidBlock(long channels, long groups, double eps, Device? device = null, ScalarType? dtype = null) : base(nameof(VaeMidBlock))
    {
        resnets = nn.ModuleList(
            new ResnetBlock2D(channels, channels, null, groups, eps, device, dtype),
            new ResnetBlock2D(channels, channels, null, groups, eps, device, dtype));
        attentions = nn.ModuleList(new VaeAttention(channels, groups, eps, device, dtype));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var r0 = resnets[0].forward(hidden, null!);
        using var a0 = attentions[0].forward(r0);
        return resnets[1].forward(a0, null!);
    }
}
