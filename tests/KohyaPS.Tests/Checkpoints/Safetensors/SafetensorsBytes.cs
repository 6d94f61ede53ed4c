using System.Text;

namespace KohyaPS.Tests.Checkpoints.Safetensors;

/// <summary>Builds safetensors files byte by byte, straight from the format description (no engine code).</summary>
internal static class SafetensorsBytes
{
    /// <summary>8-byte little-endian length, the header bytes as given, then the data bytes.</summary>
    public static byte[] Build(byte[] header, byte[] data, ulong? declaredLength = null)
    {
        ulong n = declaredLength ?? (ulong)header.Length;
        var file = new byte[8 + header.Length + data.Length];
        for (int i = 0; i < 8; i++)
            file[i] = (byte)(n >> (8 * i));
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    public static byte[] Build(string headerJson, int dataLength, ulong? declaredLength = null)
    {
        var data = new byte[dataLength];
        for (int i = 0; i < data.Length; i++)
            data[i] = (byte)(i * 7 + 1);
        return Build(Encoding.UTF8.GetBytes(headerJson), data, declaredLength);
    }

    public static ulong DeclaredLength(byte[] file)
    {
        ulong n = 0;
        for (int i = 7; i >= 0; i--)
            n = (n << 8) | file[i];
        return n;
    }

    public static string HeaderText(byte[] file) =>
        Encoding.UTF8.GetString(file, 8, (int)DeclaredLength(file));
}
