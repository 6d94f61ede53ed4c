using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>CLIP's <c>encoder</c>: the stack of <c>layers</c>.</summary>
public sealed class TextTransformer : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<TextEncoderLayer> layers;

    public TextTransformer(TextEncoderConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(TextTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        layers = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new TextEncoderLayer(config, device, dtype)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        var h = hidden;
        foreach (var layer in layers)
        {
            var next = layer.forward(h);
            if (!ReferenceEquals(h, hidden))
                h.Dispose();
            h = next;
        }
        return ReferenceEquals(h, hidden) ? h.alias() : h;
    }
}
