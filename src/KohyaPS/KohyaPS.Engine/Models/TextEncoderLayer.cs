using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>CLIP's encoder layer (pre-LN): x + self_attn(layer_norm1(x)), then x + mlp(layer_norm2(x)).</summary>
public sealed class TextEncoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly TextSelfAttention self_attn;
    private readonly LayerNorm layer_norm1;
    private readonly TextMlp mlp;
    private readonly LayerNorm layer_norm2;

    public TextEncoderLayer(TextEncoderConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(TextEncoderLayer))
    {
        ArgumentNullException.ThrowIfNull(config);
        self_attn = new TextSelfAttention(config.Width, config.Heads, device, dtype);
        layer_norm1 = ModelLayers.LayerNorm(config.Width, config.LayerNormEps, device, dtype);
        mlp = new TextMlp(config.Width, config.IntermediateSize, device, dtype);
        layer_norm2 = ModelLayers.LayerNorm(config.Width, config.LayerNormEps, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var n1 = layer_norm1.forward(hidden);
        using var a = self_attn.forward(n1);
        using var h = hidden + a;
        using var n2 = layer_norm2.forward(h);
        using var m = mlp.forward(n2);
        return h + m;
    }
}
