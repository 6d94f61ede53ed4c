using System.Buffers.Binary;

namespace KohyaPS.Engine.Data;

/// <summary>
/// Writes 8-bit RGB PNG files whose bytes depend only on the pixels: no filter, deflate "stored" (uncompressed)
/// blocks, no timestamps or other ancillary chunks. General encoders (libpng + zlib in Skia, zlib-ng in .NET)
/// choose compression paths by CPU features and version, so their bytes can differ between machines; these
/// cannot. The price is size (width × height × 3 plus ~0.1 %), which is fine for the small demo images.
/// </summary>
public static class PngWriter
{
    private static readonly byte[] Signature = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Encodes <paramref name="image"/> as PNG bytes.</summary>
    public static byte[] Encode(RgbImage image)
    {
        int w = image.Width, h = image.Height;
        if (w < 1 || h < 1 || image.Pixels.Length != checked(w * h * 3))
            throw new ArgumentException("The image size and pixel buffer do not match.", nameof(image));

        // Raw scanlines: filter byte 0 ("None") then the row.
        var raw = new byte[h * (1 + w * 3)];
        for (int y = 0; y < h; y++)
            Buffer.BlockCopy(image.Pixels, y * w * 3, raw, y * (1 + w * 3) + 1, w * 3);

        using var png = new MemoryStream();
        png.Write(Signature);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(0), (uint)w);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)h);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: truecolour
        ihdr[10] = 0; // compression: deflate
        ihdr[11] = 0; // filter method
        ihdr[12] = 0; // no interlace
        WriteChunk(png, "IHDR", ihdr);
        WriteChunk(png, "IDAT", ZlibStored(raw));
        WriteChunk(png, "IEND", Array.Empty<byte>());
        return png.ToArray();
    }

    public static void Write(string path, RgbImage image) => File.WriteAllBytes(path, Encode(image));

    /// <summary>A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).</summary>
    private static byte[] ZlibStored(byte[] data)
    {
        const int MaxBlock = 65535;
        int blocks = Math.Max(1, (data.Length + MaxBlock - 1) / MaxBlock);
        var z = new byte[2 + data.Length + blocks * 5 + 4];
        z[0] = 0x78; // deflate, 32 KiB window
        z[1] = 0x01; // check bits for 0x78; no dictionary, fastest level
        int o = 2, offset = 0;
        for (int b = 0; b < blocks; b++)
        {
            int len = Math.Min(MaxBlock, data.Length - offset);
            z[o++] = (byte)(b == blocks - 1 ? 1 : 0); // BFINAL, BTYPE = 00
            BinaryPrimitives.WriteUInt16LittleEndian(z.AsSpan(o), (ushort)len);
            BinaryPrimitives.WriteUInt16LittleEndian(z.AsSpan(o + 2), (ushort)~len);
            o += 4;
            Buffer.BlockCopy(data, offset, z, o, len);
            o += len;
            offset += len;
        }
        BinaryPrimitives.WriteUInt32BigEndian(z.AsSpan(o), Adler32(data));
        return z;
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)data.Length);
        s.Write(u32);
        var typeAndData = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++)
            typeAndData[i] = (byte)type[i];
        Buffer.BlockCopy(data, 0, typeAndData, 4, data.Length);
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(u32, Crc32(typeAndData));
        s.Write(u32);
    }

    private static uint Adler32(byte[] data)
    {
        const uint Mod = 65521;
        uint a = 1, b = 0;
        foreach (byte x in data)
        {
            a = (a + x) % Mod;
            b = (b + a) % Mod;
        }
        return (b << 16) | a;
    }

    private static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte x in data)
            c = CrcTable[(c ^ x) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
