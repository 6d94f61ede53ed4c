using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>BasicTransformerBlock</c> (layer-norm variant): pre-norm self-attention (<c>norm1</c>,
/// <c>attn1</c>), cross-attention on the text (<c>norm2</c>, <c>attn2</c>) and a GEGLU feed-forward
/// (<c>norm3</c>, <c>ff</c>), each added to its input.
/// </summary>
public sealed class BasicTransformerBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Attention attn1;
    private readonly LayerNorm norm2;
    private readonly Attention attn2;
    private readonly LayerNorm norm3;
    private readonly FeedForward ff;

    public BasicTransformerBlock(long dim, long heads, long dimHead, long crossAttentionDim, double normEps,
        Device? device = null, ScalarType? dtype = null) : base(nameof(BasicTransformerBlock))
    {
        norm1 = ModelLayers.LayerNorm(dim, normEps, device, dtype);
        attn1 = new Attention(dim, heads, dimHead, null, device, dtype);
        norm2 = ModelLayers.LayerNorm(dim, normEps, device, dtype);
        attn2 = new Attention(dim, heads, dimHead, crossAttentionDim, device, dtype);
        norm3 = ModelLayers.LayerNorm(dim, normEps, device, dtype);
        ff = new FeedForward(dim, device, dtype);
        RegisterComponents();
    }

    /// <param name="hidden">[B, L, dim]</param>
    /// <param name="encoderHiddenStates">[B, S, crossAttentionDim]</param>
    public override Tensor forward(Tensor hidden, Tensor encoderHiddenStates)
    {
        using var n1 = norm1.forward(hidden);
        using var s = attn1.forward(n1, null);
        using var h1 = s + hidden;
        using var n2 = norm2.forward(h1);
        using var c = attn2.forward(n2, encoderHiddenStates);
        using var h2 = c + h1;
        using var n3 = norm3.forward(h2);
        using var f = ff.forward(n3);
        return f + h2;
    }
}
