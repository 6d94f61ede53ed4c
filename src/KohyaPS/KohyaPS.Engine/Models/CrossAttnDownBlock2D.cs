using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>CrossAttnDownBlock2D</c>: each of <c>resnets.N</c> is followed by <c>attentions.N</c>
/// (a <see cref="Transformer2DModel"/> attending to the text), then <c>downsamplers.0</c> unless it is the last level.
/// </summary>
public sealed class CrossAttnDownBlock2D : UNetDownBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<Downsample2D>? downsamplers;

    public CrossAttnDownBlock2D(long inChannels, long outChannels, long tembChannels, int layers, bool addDownsample,
        long heads, long crossAttentionDim, int transformerLayers, long groups, double eps,
        Device? device = null, ScalarType? dtype = null) : base(nameof(CrossAttnDownBlock2D))
    {
        resnets = nn.ModuleList(BuildResnets(inChannels, outChannels, tembChannels, layers, groups, eps, device, dtype));
        attentions = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(_ => new Transformer2DModel(heads, outChannels / heads, outChannels, transformerLayers, crossAttentionDim, groups, eps, device, dtype))
            .ToArray());
        if (addDownsample)
            downsamplers = nn.ModuleList(new Downsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    public override int ResnetCount => resnets.Count;

    public override (Tensor Hidden, Tensor[] Skips) forward(Tensor hidden, Tensor temb, Tensor encoderHiddenStates) =>
        ForwardLevel(hidden, temb, resnets, (i, r) => attentions[i].forward(r, encoderHiddenStates), downsamplers?[0]);
}
