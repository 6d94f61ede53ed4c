using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>Transformer2DModel</c> for continuous input with <c>use_linear_projection=False</c> (SD1.x):
/// <c>norm</c> (GroupNorm, eps 1e-6) → <c>proj_in</c> (1×1 conv) → tokens → <c>transformer_blocks</c> →
/// <c>proj_out</c> (1×1 conv), added to the input.
/// </summary>
public sealed class Transformer2DModel : nn.Module<Tensor, Tensor, Tensor>
{
    private const double GroupNormEps = 1e-6;
    private readonly GroupNorm norm;
    private readonly Conv2d proj_in;
    private readonly ModuleList<BasicTransformerBlock> transformer_blocks;
    private readonly Conv2d proj_out;

    public Transformer2DModel(long heads, long dimHead, long inChannels, int layers, long crossAttentionDim,
        long groups, double normEps, Device? device = null, ScalarType? dtype = null) : base(nameof(Transformer2DModel))
    {
        long inner = heads * dimHead;
        norm = ModelLayers.GroupNorm(groups, inChannels, GroupNormEps, device, dtype);
        proj_in = nn.Conv2d(inChannels, inner, 1, stride: 1, padding: 0L, device: device, dtype: dtype);
        transformer_blocks = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(_ => new BasicTransformerBlock(inner, heads, dimHead, crossAttentionDim, normEps, device, dtype))
            .ToArray());
        proj_out = nn.Conv2d(inner, inChannels, 1, stride: 1, padding: 0L, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <param name="input">[B, C, H, W]</param>
    /// <param name="encoderHiddenStates">[B, S, crossAttentionDim]</param>
    public override Tensor forward(Tensor input, Tensor encoderHiddenStates)
    {
        long b = input.shape[0], h = input.shape[2], w = input.shape[3];
        using var normed = norm.forward(input);
        using var projected = proj_in.call(normed);
        long inner = projected.shape[1];
        Tensor tokens;
        using (var channelsLast = projected.permute(0, 2, 3, 1))
            tokens = channelsLast.reshape(b, h * w, inner);
        foreach (var block in transformer_blocks)
        {
            using var previous = tokens;
            tokens = block.forward(previous, encoderHiddenStates);
        }
        using (tokens)
        {
            using var grid = tokens.view(b, h, w, inner);
            using var channelsFirst = grid.permute(0, 3, 1, 2);
            using var spatial = channelsFirst.contiguous();
            using var output = proj_out.call(spatial);
            return output + input;
        }
    }
}
