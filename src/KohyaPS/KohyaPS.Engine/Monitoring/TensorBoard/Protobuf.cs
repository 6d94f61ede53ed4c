using System.Buffers.Binary;
using System.Text;

namespace KohyaPS.Engine.Monitoring.TensorBoard;

/// <summary>
/// The few protobuf wire-format pieces event files need: varints, 64-bit doubles, 32-bit floats and
/// length-delimited fields (strings and nested messages). Fields are written in field-number order.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();

    public void Varint(int field, ulong value)
    {
        Tag(field, ProtoWireType.Varint);
        WriteVarint(value);
    }

    public void Double(int field, double value)
    {
        Tag(field, ProtoWireType.Fixed64);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        _buffer.Write(bytes);
    }

    public void Float(int field, float value)
    {
        Tag(field, ProtoWireType.Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, ProtoWireType.LengthDelimited);
        WriteVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    public byte[] ToArray() => _buffer.ToArray();

    private void Tag(int field, ProtoWireType type) => WriteVarint(((ulong)field << 3) | (ulong)type);

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.WriteByte((byte)value);
    }
}

internal enum ProtoWireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    Fixed32 = 5,
}

/// <summary>One field read back: its number, wire type, and the value (a varint, fixed bits, or a byte range).</summary>
internal readonly record struct ProtoField(int Number, ProtoWireType Type, ulong Bits, ReadOnlyMemory<byte> Payload)
{
    public double AsDouble => BitConverter.UInt64BitsToDouble(Bits);
    public float AsFloat => BitConverter.UInt32BitsToSingle((uint)Bits);
    public long AsInt64 => unchecked((long)Bits);
    public string AsString => Encoding.UTF8.GetString(Payload.Span);
}

/// <summary>Walks the fields of one message; unknown fields are returned like any other, for the caller to skip.</summary>
internal static class ProtoReader
{
    public static IEnumerable<ProtoField> Fields(ReadOnlyMemory<byte> message)
    {
        int position = 0;
        while (position < message.Length)
        {
            ulong tag = ReadVarint(message.Span, ref position);
            int number = (int)(tag >> 3);
            var type = (ProtoWireType)(tag & 7);
            if (number <= 0)
                throw new InvalidDataException($"Protobuf field number {number} at byte {position}.");
            switch (type)
            {
                case ProtoWireType.Varint:
                    yield return new ProtoField(number, type, ReadVarint(message.Span, ref position), default);
                    break;
                case ProtoWireType.Fixed64:
                    Need(message, position, 8);
                    yield return new ProtoField(number, type, BinaryPrimitives.ReadUInt64LittleEndian(message.Span[position..]), default);
                    position += 8;
                    break;
                case ProtoWireType.Fixed32:
                    Need(message, position, 4);
                    yield return new ProtoField(number, type, BinaryPrimitives.ReadUInt32LittleEndian(message.Span[position..]), default);
                    position += 4;
                    break;
                case ProtoWireType.LengthDelimited:
                    ulong length = ReadVarint(message.Span, ref position);
                    if (length > int.MaxValue)
                        throw new InvalidDataException($"Protobuf field {number} claims {length} bytes.");
                    Need(message, position, (int)length);
                    yield return new ProtoField(number, type, length, message.Slice(position, (int)length));
                    position += (int)length;
                    break;
                default:
                    throw new InvalidDataException($"Protobuf wire type {(int)type} (field {number}) is not supported.");
            }
        }
    }

    private static void Need(ReadOnlyMemory<byte> message, int position, int count)
    {
        if (count < 0 || position + count > message.Length)
            throw new InvalidDataException($"Protobuf message ends inside a field (needs {count} bytes at {position} of {message.Length}).");
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
                throw new InvalidDataException("Protobuf message ends inside a varint.");
            byte b = data[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
                return value;
        }
        throw new InvalidDataException("Protobuf varint longer than 10 bytes.");
    }
}
