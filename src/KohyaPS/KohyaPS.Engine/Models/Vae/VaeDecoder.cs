using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Vae;

/// <summary>
/// diffusers' VAE <c>Decoder</c>: <c>conv_in</c> → <c>mid_block</c> → <c>up_blocks</c> (the encoder's levels in
/// reverse, one resnet more each) → <c>conv_norm_out</c> → SiLU → <c>conv_out</c>.
/// </summary>
public sealed class VaeDecoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly VaeMidBlock mid_block;
    private readonly ModuleList<VaeLevel> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;

    public VaeDecoder(VaeConfig config, Device? device = null, ScalarType? dtype = null) : base("Decoder")
    {
        ArgumentNullException.ThrowIfNull(config);
        var reversed = config.BlockOutChannels.Reverse().ToArray();
        int levels = reversed.Length;
        conv_in = nn.Conv2d(config.LatentChannels, reversed[0], 3, stride: 1, padding: 1, device: device, dtype: dtype);
        mid_block = new VaeMidBlock(reversed[0], config.NormNumGroups, config.NormEps, device, dtype);
        up_blocks = nn.ModuleList(Enumerable.Range(0, levels).Select(i => VaeLevel.Up(i == 0 ? reversed[0] : reversed[i - 1], reversed[i],
            config.LayersPerBlock + 1, i < levels - 1, config.NormNumGroups, config.NormEps, device, dtype)).ToArray());
        conv_norm_out = ModelLayers.GroupNorm(config.NormNumGroups, reversed[^1], config.NormEps, device, dtype);
        conv_out = nn.Conv2d(reversed[^1], config.OutChannels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor latents)
    {
        using var input = conv_in.forward(latents);
        var h = mid_block.forward(input);
        foreach (var level in up_blocks)
        {
            var next = level.forward(h);
            h.Dispose();
            h = next;
        }
        using (h)
        using (var normed = conv_norm_out.forward(h))
        using (var activated = nn.functional.silu(normed))
            return conv_out.forward(activated);
    }
}
