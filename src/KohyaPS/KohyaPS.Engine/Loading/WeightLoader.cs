using KohyaPS.Engine.Checkpoints.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Loading;

/// <summary>
/// Fills a module's tensors from an open safetensors file through a key map, one tensor at a time: each file
/// tensor is read into its own CPU buffer in the file's dtype, copied (converting dtype, moving device) into the
/// module's existing tensor, and freed before the next, so the extra memory is one tensor, never a second model.
/// Every key and shape is checked from the header before any data is read.
/// </summary>
public static class WeightLoader
{
    private static readonly SafetensorsDtype[] FloatDtypes = { SafetensorsDtype.F32, SafetensorsDtype.F16, SafetensorsDtype.BF16, SafetensorsDtype.F64 };

    /// <summary>
    /// Compares the file with the module. <paramref name="fileKey"/> names each mapping's tensor in the file;
    /// file keys starting with <paramref name="filePrefix"/> that no mapping names are unexpected, except the
    /// position-id buffer.
    /// </summary>
    public static WeightMismatch Compare(SafetensorsFile file, IReadOnlyDictionary<string, Tensor> modelState,
        IReadOnlyList<KeyMapping> map, Func<KeyMapping, string> fileKey, Func<KeyMapping, long[], long[]> fileShape, string filePrefix)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(modelState);
        ArgumentNullException.ThrowIfNull(map);
        var missing = new List<string>();
        var wrong = new List<string>();
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mapping in map)
        {
            string key = fileKey(mapping);
            named.Add(key);
            if (!file.Header.TryGetEntry(key, out var entry))
            {
                missing.Add(key);
                continue;
            }
            long[] want = fileShape(mapping, modelState[mapping.ModelKey].shape);
            if (!entry.GetShape().SequenceEqual(want))
                wrong.Add($"{key}: file [{string.Join(", ", entry.Shape)}] vs model [{string.Join(", ", want)}]");
            else if (Array.IndexOf(FloatDtypes, entry.Dtype) < 0)
                wrong.Add($"{key}: file dtype {entry.Dtype.GetName()} is not a floating-point weight type (F32, F16, BF16, F64)");
        }
        var unexpected = file.Entries
            .Select(e => e.Name)
            .Where(n => n.StartsWith(filePrefix, StringComparison.Ordinal) && !named.Contains(n)
                        && !n.EndsWith(LdmKeyMap.PositionIdsSuffix, StringComparison.Ordinal))
            .ToList();
        return new WeightMismatch(missing, unexpected, wrong);
    }

    /// <summary>Copies every mapped tensor into the module (after <see cref="Compare"/> found nothing wrong).</summary>
    /// <returns>Number of tensors copied.</returns>
    public static int Copy(SafetensorsFile file, IReadOnlyDictionary<string, Tensor> modelState, IReadOnlyList<KeyMapping> map,
        Func<KeyMapping, string> fileKey, CancellationToken cancellationToken, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        int copied = 0;
        using var noGrad = torch.no_grad();
        foreach (var mapping in map)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = modelState[mapping.ModelKey];
            using var source = file.ReadTensor(fileKey(mapping));
            using var shaped = source.shape.SequenceEqual(target.shape) ? source.alias() : source.reshape(target.shape);
            target.copy_(shaped);
            copied++;
            progress?.Report(copied);
        }
        return copied;
    }
}
