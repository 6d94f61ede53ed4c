using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>Attention</c> as SD1.x uses it: <c>to_q</c>, <c>to_k</c>, <c>to_v</c> without bias,
/// <c>to_out.0</c> with bias, scaled dot-product attention over <c>heads</c> heads of <c>dimHead</c> channels.
/// Self-attention when no context is given (or <c>crossAttentionDim</c> is null); cross-attention otherwise.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> to_out;
    private readonly long _heads;
    private readonly long _dimHead;

    public Attention(long queryDim, long heads, long dimHead, long? crossAttentionDim = null,
        Device? device = null, ScalarType? dtype = null) : base(nameof(Attention))
    {
        long inner = heads * dimHead;
        long contextDim = crossAttentionDim ?? queryDim;
        _heads = heads;
        _dimHead = dimHead;
        to_q = nn.Linear(queryDim, inner, hasBias: false, device: device, dtype: dtype);
        to_k = nn.Linear(contextDim, inner, hasBias: false, device: device, dtype: dtype);
        to_v = nn.Linear(contextDim, inner, hasBias: false, device: device, dtype: dtype);
        // diffusers: ModuleList([Linear, Dropout]); only index 0 has weights.
        to_out = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            nn.Linear(inner, queryDim, hasBias: true, device: device, dtype: dtype),
            nn.Dropout(0.0));
        RegisterComponents();
    }

    /// <param name="hidden">[B, L, queryDim]</param>
    /// <param name="context">[B, S, contextDim], or null for self-attention.</param>
    /// <returns>[B, L, queryDim]</returns>
    public override Tensor forward(Tensor hidden, Tensor? context)
    {
        var ctx = context ?? hidden;
        using var q = SplitHeads(to_q.call(hidden));
        using var k = SplitHeads(to_k.call(ctx));
        using var v = SplitHeads(to_v.call(ctx));
        using var attended = nn.functional.scaled_dot_product_attention(q, k, v);
        using var tokensFirst = attended.transpose(1, 2);
        using var merged = tokensFirst.reshape(hidden.shape[0], hidden.shape[1], _heads * _dimHead);
        using var projected = to_out[0].call(merged);
        return to_out[1].forward(projected);
    }

    private Tensor SplitHeads(Tensor x)
    {
        using (x)
        using (var split = x.view(x.shape[0], x.shape[1], _heads, _dimHead))
            return split.transpose(1, 2);
    }
}
