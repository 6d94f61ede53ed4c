using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>diffusers' <c>UNetMidBlock2DCrossAttn</c> with one layer: <c>resnets.0</c> → <c>attentions.0</c> → <c>resnets.1</c>.</summary>
public sealed class UNetMidBlock2DCrossAttn : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;

    public UNetMidBlock2DCrossAttn(long channels, long tembChannels, long heads, long crossAttentionDim, int transformerLayers,
        long groups, double eps, Device? device = null, ScalarType? dtype = null) : base(nameof(UNetMidBlock2DCrossAttn))
    {
        resnets = nn.ModuleList(
            new ResnetBlock2D(channels, channels, tembChannels, groups, eps, device, dtype),
            new ResnetBlock2D(channels, channels, tembChannels, groups, eps, device, dtype));
        attentions = nn.ModuleList(
            new Transformer2DModel(heads, channels / heads, channels, transformerLayers, crossAttentionDim, groups, eps, device, dtype));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor temb, Tensor encoderHiddenStates)
    {
        using var r0 = resnets[0].forward(hidden, temb);
        using var a0 = attentions[0].forward(r0, encoderHiddenStates);
        return resnets[1].forward(a0, temb);
    }
}
