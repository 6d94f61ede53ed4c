using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>CrossAttnUpBlock2D</c>: each of <c>resnets.N</c> (over the hidden states concatenated with
/// one skip connection) is followed by <c>attentions.N</c>, then <c>upsamplers.0</c> unless it is the last level.
/// </summary>
public sealed class CrossAttnUpBlock2D : UNetUpBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<Upsample2D>? upsamplers;

    /// <param name="inChannels">Channels of the skip connection of the last resnet (the level below's output width).</param>
    /// <param name="prevOutputChannels">Channels of the hidden states coming in from the level below.</param>
    public CrossAttnUpBlock2D(long inChannels, long prevOutputChannels, long outChannels, long tembChannels, int layers,
        bool addUpsample, long heads, long crossAttentionDim, int transformerLayers, long groups, double eps,
        Device? device = null, ScalarType? dtype = null) : base(nameof(CrossAttnUpBlock2D))
    {
        resnets = nn.ModuleList(BuildResnets(inChannels, prevOutputChannels, outChannels, tembChannels, layers, groups, eps, device, dtype));
        attentions = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(_ => new Transformer2DModel(heads, outChannels / heads, outChannels, transformerLayers, crossAttentionDim, groups, eps, device, dtype))
            .ToArray());
        if (addUpsample)
            upsamplers = nn.ModuleList(new Upsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    public override int ResnetCount => resnets.Count;

    public override Tensor forward(Tensor hidden, IReadOnlyList<Tensor> skips, Tensor temb, Tensor encoderHiddenStates, long[]? upsampleSize) =>
        ForwardLevel(hidden, skips, temb, resnets, (i, r) => attentions[i].forward(r, encoderHiddenStates), upsamplers?[0], upsampleSize);
}
