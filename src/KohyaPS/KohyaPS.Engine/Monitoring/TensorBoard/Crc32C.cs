using System.Buffers.Binary;
using System.Numerics;

namespace KohyaPS.Engine.Monitoring.TensorBoard;

/// <summary>
/// CRC-32C (Castagnoli), as TFRecord framing uses it, and the masking TFRecord applies to every stored CRC
/// (a CRC of bytes that themselves hold CRCs is weak, so the stored value is rotated and offset).
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> does the polynomial step (in hardware where the CPU has it).
/// </summary>
public static class Crc32C
{
    private const uint MaskDelta = 0xa282ead8;

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = uint.MaxValue;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data)
            crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + MaskDelta);

    public static uint Unmask(uint masked)
    {
        uint rotated = unchecked(masked - MaskDelta);
        return (rotated >> 17) | (rotated << 15);
    }

    /// <summary>The masked CRC-32C TFRecord stores.</summary>
    public static uint Masked(ReadOnlySpan<byte> data) => Mask(Compute(data));
}
