using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Vae;

/// <summary>
/// diffusers' VAE <c>Encoder</c>: <c>conv_in</c> → <c>down_blocks</c> → <c>mid_block</c> → <c>conv_norm_out</c> →
/// SiLU → <c>conv_out</c> (2 × latent channels: mean and log-variance).
/// </summary>
public sealed class VaeEncoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly ModuleList<VaeLevel> down_blocks;
    private readonly VaeMidBlock mid_block;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;

    public VaeEncoder(VaeConfig config, Device? device = null, ScalarType? dtype = null) : base("Encoder")
    {
        ArgumentNullException.ThrowIfNull(config);
        var ch = config.BlockOutChannels;
        int levels = ch.Count;
        conv_in = nn.Conv2d(config.InChannels, ch[0], 3, stride: 1, padding: 1, device: device, dtype: dtype);
        down_blocks = nn.ModuleList(Enumerable.Range(0, levels).Select(i => VaeLevel.Down(i == 0 ? ch[0] : ch[i - 1], ch[i],
            config.LayersPerBlock, i < levels - 1, config.NormNumGroups, config.NormEps, device, dtype)).ToArray());
        mid_block = new VaeMidBlock(ch[levels - 1], config.NormNumGroups, config.NormEps, device, dtype);
        conv_norm_out = ModelLayers.GroupNorm(config.NormNumGroups, ch[levels - 1], config.NormEps, device, dtype);
        conv_out = nn.Conv2d(ch[levels - 1], 2L * config.LatentChannels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor image)
    {
        var h = conv_in.forward(image);
        foreach (var level in down_blocks)
        {
            var next = level.forward(h);
            h.Dispose();
            h = next;
        }
        using (h)
        using (var mid = mid_block.forward(h))
        using (var normed = conv_norm_out.forward(mid))
        using (var activated = nn.functional.silu(normed))
            return conv_out.forward(activated);
    }
}
