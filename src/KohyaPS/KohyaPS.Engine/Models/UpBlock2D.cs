using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>UpBlock2D</c>: <c>resnets</c> (layers_per_block + 1 of them) each over the hidden states
/// concatenated with one skip connection, then <c>upsamplers.0</c> unless it is the last level.
/// </summary>
public sealed class UpBlock2D : UNetUpBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D>? upsamplers;

    /// <param name="inChannels">Channels of the skip connection of the last resnet (the level below's output width).</param>
    /// <param name="prevOutputChannels">Channels of the hidden states coming in from the level below.</param>
    public UpBlock2D(long inChannels, long prevOutputChannels, long outChannels, long tembChannels, int layers,
        bool addUpsample, long groups, double eps, Device? device = null, ScalarType? dtype = null) : base(nameof(UpBlock2D))
    {
        resnets = nn.ModuleList(BuildResnets(inChannels, prevOutputChannels, outChannels, tembChannels, layers, groups, eps, device, dtype));
        if (addUpsample)
            upsamplers = nn.ModuleList(new Upsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    public override int ResnetCount => resnets.Count;

    public override Tensor forward(Tensor hidden, IReadOnlyList<Tensor> skips, Tensor temb, Tensor encoderHiddenStates, long[]? upsampleSize) =>
        ForwardLevel(hidden, skips, temb, resnets, null, upsamplers?[0], upsampleSize);
}
