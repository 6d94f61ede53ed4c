using System.Security.Cryptography;
using System.Text;
using KohyaPS.Engine.Checkpoints.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Networks;

/// <summary>
/// The identity of the frozen weights a LoRA is trained on: SHA-256 over every base tensor in state-dict order —
/// its name, dtype and shape, then its little-endian bytes. A LoRA checkpoint records it (metadata
/// <c>kohyaps.lora_base_sha256</c>) and resume refuses a rebuilt base whose hash differs.
/// </summary>
public static class LoraBaseHash
{
    public const string MetadataKey = "kohyaps.lora_base_sha256";
    public const string SourceMetadataKey = "kohyaps.lora_base_source";

    /// <summary>The base is the model the run's seed initialises (demo and test presets).</summary>
    public const string SeedSource = "seed";

    public static string Compute(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in tensors)
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"{name}\n{tensor.dtype}\n[{string.Join(",", tensor.shape)}]\n"));
            if (tensor.device_type == DeviceType.META)
                continue;
            using var cpu = tensor.detach().cpu().contiguous();
            TensorByteChunks.ForEach(cpu, TensorByteChunks.DefaultChunkBytes, chunk => sha.AppendData(chunk));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
