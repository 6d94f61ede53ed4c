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

    public override Tensor forward(Tensor hidden) => forward(hidden, layers.Count);

    /// <summary>Runs only the first <paramref name="layerCount"/> layers (what <c>clip_skip</c> needs).</summary>
    public Tensor forward(Tensor hidden, int layerCount)
    {
        var h = hidden;
        foreach (var layer in layers.Take(layerCount))
        {
            var next = layer.forward(h);
            if (!ReferenceEquals(h, hidden))
                h.Dispose();
            h = next;
        }
        return ReferenceEquals(h, hidden) ? h.alias() : h;
    }
}
