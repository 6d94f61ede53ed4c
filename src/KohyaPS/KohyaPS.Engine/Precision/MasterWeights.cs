using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace KohyaPS.Engine.Precision;

/// <summary>
/// The float32 side of mixed precision: a float32 master for every trainable parameter (what the optimizer updates)
/// and a float32 copy of every other floating-point tensor a checkpoint stores (a frozen text encoder, LoRA alphas),
/// each paired with the low-precision tensor the model computes with. Gradients move from the compute parameters to
/// the masters (in float32, unscaled); after an update the masters are cast into the compute weights.
/// </summary>
public sealed class MasterWeights : IDisposable
{
    private readonly List<Entry> _entries;
    private readonly List<Entry> _trainable;

    private MasterWeights(List<Entry> entries, List<Entry> trainable)
    {
        _entries = entries;
        _trainable = trainable;
        Masters = _trainable.Select(e => (e.Name, (Parameter)e.Master)).ToList();
    }

    /// <summary>The float32 masters of the trainable parameters, in the model's trainable order.</summary>
    public IReadOnlyList<(string Name, Parameter Param)> Masters { get; }

    /// <summary>
    /// Takes float32 copies of <paramref name="trainable"/> and of the floating tensors among <paramref name="state"/>
    /// (both still float32), runs <paramref name="cast"/> to put the model into the compute dtype, then pairs each copy
    /// with the compute tensor of the same name that <paramref name="liveTrainable"/> and <paramref name="liveState"/>
    /// report after the cast.
    /// </summary>
    public static MasterWeights Create(IReadOnlyList<(string Name, Parameter Param)> trainable, IEnumerable<KeyValuePair<string, Tensor>> state,
        Action cast, Func<IEnumerable<(string Name, Parameter Param)>> liveTrainable, Func<IEnumerable<KeyValuePair<string, Tensor>>> liveState)
    {
        var copies = new List<(string Name, Tensor Copy)>();
        var masters = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach (var (name, p) in trainable)
                masters[name] = new Parameter(p.detach().to(ScalarType.Float32, copy: true), requires_grad: true);
            foreach (var (name, t) in state)
            {
                if (masters.TryGetValue(name, out var master))
                    copies.Add((name, master));
                else if (t.is_floating_point())
                    copies.Add((name, t.detach().to(ScalarType.Float32, copy: true)));
            }
        }
        var missing = masters.Keys.Except(copies.Select(c => c.Name)).ToList();
        foreach (var name in missing)
            copies.Add((name, masters[name]));
        cast();
        var live = liveState().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        foreach (var (name, p) in liveTrainable())
            live[name] = p;
        var entries = copies.Select(c => new Entry(c.Name, c.Copy, live.TryGetValue(c.Name, out var compute)
            ? compute
            : throw new InvalidOperationException($"'{c.Name}' has no compute tensor after the cast."))).ToList();
        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        return new MasterWeights(entries, trainable.Select(t => byName[t.Name]).ToList());
    }

    /// <summary>The float32 tensors a checkpoint stores, named as the model's state tensors.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors() =>
        _entries.Select(e => new KeyValuePair<string, Tensor>(e.Name, e.Master));

    /// <summary>
    /// Adds each compute parameter's gradient, in float32 and multiplied by <paramref name="unscale"/>, to its master's
    /// gradient, and frees the low-precision gradient (called after every backward, so micro-batches sum in float32).
    /// </summary>
    public void AccumulateGradients(double unscale)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var e in _trainable)
        {
            var compute = (Parameter)e.Compute;
            if (compute.grad is not { } g)
                continue;
            var grad = g.to(ScalarType.Float32, copy: true);
            if (unscale != 1)
                grad.mul_(unscale);
            var master = (Parameter)e.Master;
            if (master.grad is { } existing)
                existing.add_(grad);
            else
                master.grad = grad;
            compute.grad = null!;
        }
    }

    /// <summary>Casts every float32 copy into its compute tensor (after an update, a load, a rollback).</summary>
    public void CopyToCompute()
    {
        using var noGrad = torch.no_grad();
        foreach (var e in _entries)
            e.Compute.copy_(e.Master);
    }

    public void Dispose()
    {
        foreach (var e in _entries)
            e.Master.Dispose();
        _entries.Clear();
    }

    private sealed record Entry(string Name, Tensor Master, Tensor Compute);
}
