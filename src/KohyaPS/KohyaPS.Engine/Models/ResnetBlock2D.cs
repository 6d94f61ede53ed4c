using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>ResnetBlock2D</c> (time_embedding_norm "default", output scale 1, no dropout):
/// <c>norm1</c> → SiLU → <c>conv1</c> (+ <c>time_emb_proj</c>(SiLU(temb)) per channel) → <c>norm2</c> → SiLU →
/// <c>conv2</c>, added to the input (through the 1×1 <c>conv_shortcut</c> when the channel count changes).
/// Without time-embedding channels (the VAE's resnets, diffusers' <c>temb_channels=None</c>) there is no
/// <c>time_emb_proj</c> and <c>forward</c> takes a null <c>temb</c>.
/// </summary>
public sealed class ResnetBlock2D : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear? time_emb_proj;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? conv_shortcut;

    public ResnetBlock2D(long inChannels, long outChannels, long? tembChannels, long groups, double eps,
        Device? device = null, ScalarType? dtype = null) : base(nameof(ResnetBlock2D))
    {
        norm1 = ModelLayers.GroupNorm(groups, inChannels, eps, device, dtype);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        if (tembChannels is long t)
            time_emb_proj = nn.Linear(t, outChannels, hasBias: true, device: device, dtype: dtype);
        norm2 = ModelLayers.GroupNorm(groups, outChannels, eps, device, dtype);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        if (inChannels != outChannels)
            conv_shortcut = nn.Conv2d(inChannels, outChannels, 1, stride: 1, padding: 0L, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <param name="input">[B, in, H, W]</param>
    /// <param name="temb">[B, temb channels]; null (and ignored) when built without time-embedding channels.</param>
    public override Tensor forward(Tensor input, Tensor temb)
    {
        using var h1 = norm1.forward(input);
        using var a1 = nn.functional.silu(h1);
        using var c1 = conv1.call(a1);
        using var h2 = time_emb_proj is null ? c1.alias() : AddTime(c1, temb);
        using var n2 = norm2.forward(h2);
        using var a2 = nn.functional.silu(n2);
        using var c2 = conv2.call(a2);
        if (conv_shortcut is null)
            return input + c2;
        using var shortcut = conv_shortcut.call(input);
        return shortcut + c2;
    }

    private Tensor AddTime(Tensor hidden, Tensor temb)
    {
        using var ta = nn.functional.silu(temb);
        using var t = time_emb_proj!.forward(ta);
        using var t4 = t.view(t.shape[0], t.shape[1], 1, 1);
        return hidden + t4;
    }
}
