using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>diffusers' <c>DownBlock2D</c>: <c>resnets</c>, then <c>downsamplers.0</c> unless it is the last level.</summary>
public sealed class DownBlock2D : UNetDownBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;

    public DownBlock2D(long inChannels, long outChannels, long tembChannels, int layers, bool addDownsample,
        long groups, double eps, Device? device = null, ScalarType? dtype = null) : base(nameof(DownBlock2D))
    {
        resnets = nn.ModuleList(BuildResnets(inChannels, outChannels, tembChannels, layers, groups, eps, device, dtype));
        if (addDownsample)
            downsamplers = nn.ModuleList(new Downsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    public override int ResnetCount => resnets.Count;

    public override (Tensor Hidden, Tensor[] Skips) forward(Tensor hidden, Tensor temb, Tensor encoderHiddenStates) =>
        ForwardLevel(hidden, temb, resnets, null, downsamplers?[0]);
}
