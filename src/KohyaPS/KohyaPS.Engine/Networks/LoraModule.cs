using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Networks;

/// <summary>
/// One LoRA adapter on a Linear or Conv2d layer: the layer's output gains <c>lora_up(dropout(lora_down(x))) · alpha/rank</c>.
/// <c>lora_down</c> has the layer's input side and kernel (a 3×3 convolution keeps its stride and padding), <c>lora_up</c>
/// maps rank → output (1×1 for convolutions); neither has a bias. <c>lora_up</c> starts at zero, so the adapted layer
/// starts out computing exactly what the base layer does; <c>lora_down</c> starts Kaiming-uniform with a = √5, as
/// kohya's networks.lora and PEFT do. The state dict is kohya's: <c>lora_down.weight</c>, <c>lora_up.weight</c>,
/// <c>alpha</c> (a float32 scalar).
/// </summary>
/// <remarks>
/// The adapter attaches as a forward hook of the base layer, so the base model's own structure and state dict stay
/// as they are; the layer must be invoked through <c>call</c> for hooks to run. Dropout draws from the default
/// generator, which the trainer seeds from (run seed, step) before every step.
/// </remarks>
public sealed class LoraModule : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> lora_down;
    private readonly nn.Module<Tensor, Tensor> lora_up;
    private readonly Tensor _alpha;
    private readonly double _dropout;
    private Action? _detach;

    public LoraModule(nn.Module<Tensor, Tensor> target, int rank, double alpha, double dropout) : base(nameof(LoraModule))
    {
        ArgumentNullException.ThrowIfNull(target);
        if (rank < 1)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, "The rank must be at least 1.");
        Rank = rank;
        Scale = alpha / rank;
        _dropout = dropout;
        switch (target)
        {
            case Linear linear:
            {
                var w = linear.weight!;
                lora_down = nn.Linear(w.shape[1], rank, hasBias: false, device: w.device, dtype: w.dtype);
                lora_up = nn.Linear(rank, w.shape[0], hasBias: false, device: w.device, dtype: w.dtype);
                break;
            }
            case Conv2d conv when conv.groups == 1:
            {
                var w = conv.weight!;
                lora_down = nn.Conv2d(w.shape[1], rank, (w.shape[2], w.shape[3]), stride: (conv.stride![0], conv.stride[1]),
                    padding: (conv.padding![0], conv.padding[1]), dilation: (conv.dilation![0], conv.dilation[1]), bias: false, device: w.device, dtype: w.dtype);
                lora_up = nn.Conv2d(rank, w.shape[0], 1, bias: false, device: w.device, dtype: w.dtype);
                break;
            }
            default:
                throw new ArgumentException($"LoRA adapts Linear and (ungrouped) Conv2d layers, not {target.GetType().Name}.", nameof(target));
        }
        _alpha = torch.tensor((float)alpha, device: DownWeight.device);
        register_module(nameof(lora_down), lora_down);
        register_module(nameof(lora_up), lora_up);
        register_buffer("alpha", _alpha);
        using (torch.no_grad())
        {
            nn.init.kaiming_uniform_(DownWeight, a: Math.Sqrt(5));
            nn.init.zeros_(UpWeight);
        }
    }

    public int Rank { get; }

    /// <summary>alpha / rank.</summary>
    public double Scale { get; }

    public Parameter DownWeight => (Parameter)lora_down.get_parameter("weight")!;

    public Parameter UpWeight => (Parameter)lora_up.get_parameter("weight")!;

    /// <summary>The adapter's contribution for the base layer's input.</summary>
    public override Tensor forward(Tensor input)
    {
        using var down = lora_down.forward(input);
        using var dropped = training && _dropout > 0 ? nn.functional.dropout(down, _dropout, training: true) : down.alias();
        using var up = lora_up.forward(dropped);
        return up.mul(Scale);
    }

    /// <summary>Makes <paramref name="target"/> add this adapter's contribution to its output (once).</summary>
    internal void AttachTo(nn.Module<Tensor, Tensor> target)
    {
        if (_detach is not null)
            throw new InvalidOperationException("The adapter is already attached.");
        var remover = target.register_forward_hook((_, input, output) =>
        {
            using var delta = forward(input);
            return output.add(delta);
        });
        _detach = remover.remove;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _detach?.Invoke();
            _detach = null;
        }
        base.Dispose(disposing);
    }
}
