using System.Runtime.InteropServices;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>Reads feature-extractor weights (safetensors) and copies them into a network, checking every key and shape.</summary>
internal static class StateDictLoader
{
    /// <summary>Every tensor of a safetensors file held in memory (an embedded resource): F32 weights and I64 counters.</summary>
    public static Dictionary<string, Tensor> ReadFromBytes(byte[] file, string source, out IReadOnlyDictionary<string, string> metadata)
    {
        var header = SafetensorsHeader.Parse(file, source);
        metadata = header.Metadata;
        TorchRuntime.EnsureLoaded();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in header.Entries)
        {
            var bytes = file.AsSpan((int)(header.DataStart + entry.Begin), (int)entry.ByteLength);
            tensors[entry.Name] = entry.Dtype switch
            {
                SafetensorsDtype.F32 => torch.tensor(MemoryMarshal.Cast<byte, float>(bytes).ToArray(), entry.GetShape()),
                SafetensorsDtype.I64 => torch.tensor(MemoryMarshal.Cast<byte, long>(bytes).ToArray(), entry.GetShape()),
                _ => throw new KohyaException(MetricsErrors.WeightsMismatch, KohyaErrorKind.InvalidData,
                    $"'{source}': tensor '{entry.Name}' is {entry.Dtype.GetName()}; embedded weights are stored as F32 (and I64 counters).", target: source),
            };
        }
        return tensors;
    }

    /// <summary>Every tensor of a safetensors file on disk, converted to float32.</summary>
    public static Dictionary<string, Tensor> ReadFile(string path)
    {
        if (!File.Exists(path))
            throw MetricsErrors.WeightsMissing(path);
        using var file = SafetensorsFile.Open(path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in file.ReadAll())
        {
            if (tensor.dtype == ScalarType.Float32 || !tensor.is_floating_point())
            {
                tensors[name] = tensor;
                continue;
            }
            tensors[name] = tensor.to(ScalarType.Float32);
            tensor.Dispose();
        }
        return tensors;
    }

    /// <summary>
    /// Copies <paramref name="tensors"/> into the module's parameters and buffers. Every state-dict key must be
    /// present with its shape; <paramref name="ignored"/> keys (e.g. BatchNorm's num_batches_tracked) may be absent
    /// or extra. Otherwise <see cref="MetricsErrors.WeightsMismatch"/> lists the missing, unexpected and misshapen keys.
    /// </summary>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source, Func<string, bool>? ignored = null)
    {
        ignored ??= _ => false;
        var own = module.state_dict().Where(kv => !ignored(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var missing = own.Keys.Where(k => !tensors.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var unexpected = tensors.Keys.Where(k => !own.ContainsKey(k) && !ignored(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var wrongShape = own.Where(kv => tensors.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key} {Shape(tensors[kv.Key])}≠{Shape(kv.Value)}").ToList();
        if (missing.Count + unexpected.Count + wrongShape.Count > 0)
            throw MetricsErrors.Mismatch(source, missing, unexpected, wrongShape);
        using var noGrad = torch.no_grad();
        foreach (var (name, target) in own)
            target.copy_(tensors[name]);
    }

    private static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";
}
