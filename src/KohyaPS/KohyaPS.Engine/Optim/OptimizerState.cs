using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>
/// Everything an optimizer needs to continue bitwise-identically: its state tensors keyed
/// <c>"&lt;parameter name&gt;.&lt;slot&gt;"</c> (e.g. <c>unet.conv_in.weight.exp_avg</c>) and its scalars
/// (kind, step counts, settings) as invariant-culture strings, ready for safetensors tensors and metadata.
/// </summary>
/// <remarks>
/// The state owns its tensors: <see cref="Dispose"/> releases them. Tensors produced by
/// <see cref="KohyaOptimizer.ExportState"/> are CPU copies that share nothing with the optimizer.
/// </remarks>
public sealed class OptimizerState : IDisposable
{
    public OptimizerState(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(values);
        Tensors = new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal);
        Values = new Dictionary<string, string>(values, StringComparer.Ordinal);
    }

    /// <summary>State tensors keyed <c>"&lt;parameter name&gt;.&lt;slot&gt;"</c>.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>Scalars: <c>kind</c>, <c>step</c>, <c>"&lt;parameter name&gt;.step"</c> and the settings.</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    public void Dispose()
    {
        foreach (var t in Tensors.Values)
            t?.Dispose();
    }
}

/// <summary>What an exported optimizer state holds: tensor keys with shape and dtype, and scalar keys.</summary>
public sealed record OptimizerStateLayout(
    string Kind,
    IReadOnlyDictionary<string, (long[] Shape, ScalarType Dtype)> Tensors,
    IReadOnlyList<string> ValueKeys);
