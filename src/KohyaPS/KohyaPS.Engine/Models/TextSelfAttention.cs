using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>CLIP's <c>self_attn</c>: <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>out_proj</c> (all with bias), causal.</summary>
public sealed class TextSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
    private readonly long _heads;

    public TextSelfAttention(long width, long heads, Device? device = null, ScalarType? dtype = null) : base(nameof(TextSelfAttention))
    {
        _heads = heads;
        q_proj = nn.Linear(width, width, hasBias: true, device: device, dtype: dtype);
        k_proj = nn.Linear(width, width, hasBias: true, device: device, dtype: dtype);
        v_proj = nn.Linear(width, width, hasBias: true, device: device, dtype: dtype);
        out_proj = nn.Linear(width, width, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <param name="hidden">[B, L, width]; each position attends to itself and earlier positions only.</param>
    public override Tensor forward(Tensor hidden)
    {
        using var q = SplitHeads(q_proj.call(hidden));
        using var k = SplitHeads(k_proj.call(hidden));
        using var v = SplitHeads(v_proj.call(hidden));
        using var attended = nn.functional.scaled_dot_product_attention(q, k, v, null, 0.0, true);
        using var tokensFirst = attended.transpose(1, 2);
        using var merged = tokensFirst.reshape(hidden.shape[0], hidden.shape[1], hidden.shape[2]);
        return out_proj.call(merged);
    }

    private Tensor SplitHeads(Tensor x)
    {
        using (x)
        using (var split = x.view(x.shape[0], x.shape[1], _heads, x.shape[2] / _heads))
            return split.transpose(1, 2);
    }
}
