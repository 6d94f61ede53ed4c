using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Vae;

/// <summary>
/// One level of the VAE: diffusers' <c>DownEncoderBlock2D</c> (<c>resnets</c>, then <c>downsamplers.0</c>) or
/// <c>UpDecoderBlock2D</c> (<c>resnets</c>, then <c>upsamplers.0</c>); the last level of each side has no resampler.
/// </summary>
public sealed class VaeLevel : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;
    private readonly ModuleList<Upsample2D>? upsamplers;

    private VaeLevel(long inChannels, long outChannels, int layers, long groups, double eps, Device? device, ScalarType? dtype,
        bool down, bool resample) : base(down ? "DownEncoderBlock2D" : "UpDecoderBlock2D")
    {
        resnets = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(j => new ResnetBlock2D(j == 0 ? inChannels : outChannels, outChannels, null, groups, eps, device, dtype))
            .ToArray());
        if (resample && down)
            downsamplers = nn.ModuleList(new Downsample2D(outChannels, device, dtype, padding: 0));
        else if (resample)
            upsamplers = nn.ModuleList(new Upsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    /// <summary>An encoder level; <paramref name="downsample"/> is false for the last one.</summary>
    public static VaeLevel Down(long inChannels, long outChannels, int layers, bool downsample, long groups, double eps,
        Device? device, ScalarType? dtype) => new(inChannels, outChannels, layers, groups, eps, device, dtype, down: true, downsample);

    /// <summary>A decoder level; <paramref name="upsample"/> is false for the last one.</summary>
    public static VaeLevel Up(long inChannels, long outChannels, int layers, bool upsample, long groups, double eps,
        Device? device, ScalarType? dtype) => new(inChannels, outChannels, layers, groups, eps, device, dtype, down: false, upsample);

    public override Tensor forward(Tensor hidden)
    {
        var h = hidden.alias();
        foreach (var resnet in resnets)
        {
            var next = resnet.forward(h, null!);
            h.Dispose();
            h = next;
        }
        if (downsamplers is not null)
        {
            using (h)
                return downsamplers[0].forward(h);
        }
        if (upsamplers is not null)
        {
            using (h)
                return upsamplers[0].forward(h, null);
        }
        return h;
    }
}
