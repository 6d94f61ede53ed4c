using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Vae;

/// <summary>
/// The VAE mid block's self-attention over every pixel, with current diffusers names: <c>group_norm</c>,
/// <c>to_q</c>, <c>to_k</c>, <c>to_v</c> and <c>to_out.0</c> (all linear with bias; the original LDM stores them as
/// 1×1 convolutions <c>norm</c>, <c>q</c>, <c>k</c>, <c>v</c>, <c>proj_out</c> — see the loading key map). One head
/// as wide as the channels, and a residual connection around it.
/// </summary>
public sealed class VaeAttention : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm group_norm;
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> to_out;

    public VaeAttention(long channels, long groups, double eps, Device? device = null, ScalarType? dtype = null) : base(nameof(VaeAttention))
    {
        group_norm = ModelLayers.GroupNorm(groups, channels, eps, device, dtype);
        to_q = nn.Linear(channels, channels, hasBias: true, device: device, dtype: dtype);
        to_k = nn.Linear(channels, channels, hasBias: true, device: device, dtype: dtype);
        to_v = nn.Linear(channels, channels, hasBias: true, device: device, dtype: dtype);
        // diffusers: ModuleList([Linear, Dropout]); only index 0 has weights.
        to_out = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            nn.Linear(channels, channels, hasBias: true, device: device, dtype: dtype),
            nn.Dropout(0.0));
        RegisterComponents();
    }

    /// <param name="input">[B, C, H, W]</param>
    /// <returns>[B, C, H, W]: input + attention(input).</returns>
    public override Tensor forward(Tensor input)
    {
        long b = input.shape[0], c = input.shape[1], h = input.shape[2], w = input.shape[3];
        using var normed = group_norm.forward(input);
        using var flat = normed.view(b, c, h * w);
        using var tokens = flat.transpose(1, 2); // [B, HW, C]
        using var q = to_q.forward(tokens).unsqueeze(1);
        using var k = to_k.forward(tokens).unsqueeze(1);
        using var v = to_v.forward(tokens).unsqueeze(1);
        using var attended = nn.functional.scaled_dot_product_attention(q, k, v);
        using var merged = attended.squeeze(1);
        using var projected = to_out[0].forward(merged);
        using var dropped = to_out[1].forward(projected);
        using var back = dropped.transpose(1, 2).reshape(b, c, h, w);
        return input + back;
    }
}
