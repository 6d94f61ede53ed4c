using System.Buffers.Binary;

namespace KohyaPS.Engine.Monitoring.TensorBoard;

/// <summary>
/// TFRecord framing: uint64 little-endian length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C of
/// the data. Writing puts a whole record in one write call; reading checks both CRCs.
/// </summary>
public static class TfRecord
{
    public const int HeaderSize = 12;
    public const int FooterSize = 4;

    /// <summary>The framed bytes of one record.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> data)
    {
        var record = new byte[HeaderSize + data.Length + FooterSize];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Crc32C.Masked(record.AsSpan(0, 8)));
        data.CopyTo(record.AsSpan(HeaderSize));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(HeaderSize + data.Length), Crc32C.Masked(data));
        return record;
    }

    /// <summary>
    /// Reads records from <paramref name="stream"/> until its end. A record cut short by the end of the stream (a
    /// writer killed mid-write, or still writing) ends the reading and is reported through <paramref name="torn"/>;
    /// a complete record whose CRC does not match is damage and throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static IEnumerable<byte[]> Read(Stream stream, Action<long>? torn = null, string? source = null)
    {
        var header = new byte[HeaderSize];
        while (true)
        {
            long start = stream.Position;
            int got = stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false);
            if (got == 0)
                yield break;
            if (got < HeaderSize)
            {
                torn?.Invoke(start);
                yield break;
            }
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            uint lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
            if (Crc32C.Masked(header.AsSpan(0, 8)) != lengthCrc)
                throw Damaged(source, start, "length CRC does not match");
            if (length > int.MaxValue - FooterSize)
                throw Damaged(source, start, $"record length {length} is not plausible");
            var body = new byte[(int)length + FooterSize];
            if (stream.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
            {
                torn?.Invoke(start);
                yield break;
            }
            var data = body.AsSpan(0, (int)length);
            if (Crc32C.Masked(data) != BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan((int)length)))
                throw Damaged(source, start, "data CRC does not match");
            yield return data.ToArray();
        }
    }

    private static InvalidDataException Damaged(string? source, long offset, string what) =>
        new($"{source ?? "TFRecord stream"}: record at byte {offset}: {what}.");
}
