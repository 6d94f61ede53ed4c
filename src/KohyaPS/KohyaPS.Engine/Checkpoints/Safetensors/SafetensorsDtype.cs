using System.Diagnostics.CodeAnalysis;
using TorchSharp;

namespace KohyaPS.Engine.Checkpoints.Safetensors;

/// <summary>
/// Every element type the safetensors specification names. The file spelling (e.g. <c>F8_E4M3</c>) comes from
/// <see cref="SafetensorsDtypes.GetName"/>; parsing is case-sensitive, as in the reference implementation.
/// </summary>
public enum SafetensorsDtype
{
    Bool,
    F4,
    F6E2M3,
    F6E3M2,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    F8E8M0,
    F8E4M3Fnuz,
    F8E5M2Fnuz,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    C64,
    F64,
    I64,
    U64,
}

/// <summary>Names, sizes and TorchSharp element types of <see cref="SafetensorsDtype"/>.</summary>
public static class SafetensorsDtypes
{
    private static readonly (SafetensorsDtype Dtype, string Name, int Bits, torch.ScalarType? Scalar)[] Table =
    {
        (SafetensorsDtype.Bool, "BOOL", 8, torch.ScalarType.Bool),
        (SafetensorsDtype.F4, "F4", 4, null),
        (SafetensorsDtype.F6E2M3, "F6_E2M3", 6, null),
        (SafetensorsDtype.F6E3M2, "F6_E3M2", 6, null),
        (SafetensorsDtype.U8, "U8", 8, torch.ScalarType.Byte),
        (SafetensorsDtype.I8, "I8", 8, torch.ScalarType.Int8),
        (SafetensorsDtype.F8E5M2, "F8_E5M2", 8, null),
        (SafetensorsDtype.F8E4M3, "F8_E4M3", 8, null),
        (SafetensorsDtype.F8E8M0, "F8_E8M0", 8, null),
        (SafetensorsDtype.F8E4M3Fnuz, "F8_E4M3FNUZ", 8, null),
        (SafetensorsDtype.F8E5M2Fnuz, "F8_E5M2FNUZ", 8, null),
        (SafetensorsDtype.I16, "I16", 16, torch.ScalarType.Int16),
        (SafetensorsDtype.U16, "U16", 16, null),
        (SafetensorsDtype.F16, "F16", 16, torch.ScalarType.Float16),
        (SafetensorsDtype.BF16, "BF16", 16, torch.ScalarType.BFloat16),
        (SafetensorsDtype.I32, "I32", 32, torch.ScalarType.Int32),
        (SafetensorsDtype.U32, "U32", 32, null),
        (SafetensorsDtype.F32, "F32", 32, torch.ScalarType.Float32),
        (SafetensorsDtype.C64, "C64", 64, torch.ScalarType.ComplexFloat32),
        (SafetensorsDtype.F64, "F64", 64, torch.ScalarType.Float64),
        (SafetensorsDtype.I64, "I64", 64, torch.ScalarType.Int64),
        (SafetensorsDtype.U64, "U64", 64, null),
    };

    /// <summary>All dtypes, in the specification's order of increasing alignment.</summary>
    public static IReadOnlyList<SafetensorsDtype> All { get; } = Table.Select(t => t.Dtype).ToArray();

    /// <summary>The spelling used in files, e.g. <c>BF16</c>, <c>F8_E4M3</c>.</summary>
    public static string GetName(this SafetensorsDtype dtype) => Row(dtype).Name;

    /// <summary>Bits per element (4 and 6 for the sub-byte float kinds, otherwise a multiple of 8).</summary>
    public static int GetBitSize(this SafetensorsDtype dtype) => Row(dtype).Bits;

    /// <summary>The TorchSharp element type with the same bit layout, or null when TorchSharp has none (F8/F6/F4, U16/U32/U64).</summary>
    public static torch.ScalarType? ToScalarType(this SafetensorsDtype dtype) => Row(dtype).Scalar;

    /// <summary>Parses a file spelling (exact, case-sensitive).</summary>
    public static bool TryParse(string? name, out SafetensorsDtype dtype)
    {
        foreach (var row in Table)
        {
            if (string.Equals(row.Name, name, StringComparison.Ordinal))
            {
                dtype = row.Dtype;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>The safetensors dtype of a TorchSharp element type; false for types the format cannot hold (complex128, quantized).</summary>
    public static bool TryFromScalarType(torch.ScalarType scalarType, [NotNullWhen(true)] out SafetensorsDtype? dtype)
    {
        foreach (var row in Table)
        {
            if (row.Scalar == scalarType)
            {
                dtype = row.Dtype;
                return true;
            }
        }
        dtype = null;
        return false;
    }

    private static (SafetensorsDtype Dtype, string Name, int Bits, torch.ScalarType? Scalar) Row(SafetensorsDtype dtype)
    {
        int i = (int)dtype;
        if ((uint)i >= (uint)Table.Length)
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype.");
        return Table[i];
    }
}
