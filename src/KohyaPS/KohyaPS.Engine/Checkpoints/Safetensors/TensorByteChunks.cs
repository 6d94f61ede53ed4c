using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Checkpoints.Safetensors;

/// <summary>
/// Gives the raw storage of a contiguous CPU tensor as spans, in order. TorchSharp's <c>Tensor.bytes</c> stops at
/// 2 GiB, so larger tensors are visited through narrow views of a flattened view (no copies).
/// </summary>
internal static class TensorByteChunks
{
    /// <summary>Default piece size: large enough for few native calls, small enough to stay cache-friendly while hashing.</summary>
    public const long DefaultChunkBytes = 8L << 20;

    public delegate void ChunkAction(Span<byte> chunk);

    /// <returns>The number of bytes visited.</returns>
    public static long ForEach(Tensor contiguousCpu, long chunkBytes, ChunkAction action)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors stores little-endian data; big-endian hosts are not supported.");
        if (contiguousCpu.device_type != DeviceType.CPU || !contiguousCpu.is_contiguous())
            throw new ArgumentException("The tensor must be a contiguous CPU tensor.", nameof(contiguousCpu));

        long elements = contiguousCpu.numel();
        long elementSize = contiguousCpu.element_size();
        long total = elements * elementSize;
        if (total == 0)
            return 0;
        if (total <= chunkBytes && total <= int.MaxValue)
        {
            action(contiguousCpu.bytes);
            return total;
        }

        long perChunk = Math.Max(1, Math.Min(chunkBytes, int.MaxValue) / elementSize);
        using var flat = contiguousCpu.reshape(-1);
        for (long start = 0; start < elements; start += perChunk)
        {
            using var part = flat.narrow(0, start, Math.Min(perChunk, elements - start));
            action(part.bytes);
        }
        return total;
    }
}
