using System.Buffers.Binary;
using System.Text;
using KohyaPS.Engine.Monitoring.TensorBoard;

namespace KohyaPS.Tests.Monitoring;

public sealed class TfRecordTests
{
    [Fact]
    public void Crc32CMatchesKnownVectors()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0u, Crc32C.Compute(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void MaskedCrcRotatesAndOffsetsAndUnmasks()
    {
        // ((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xa282ead8, worked out by hand.
        Assert.Equal(0xC78AB0E5u, Crc32C.Masked(Encoding.ASCII.GetBytes("123456789")));
        foreach (uint crc in new[] { 0u, 1u, 0xE3069283u, uint.MaxValue, 0x8A9136AAu })
            Assert.Equal(crc, Crc32C.Unmask(Crc32C.Mask(crc)));
    }

    [Fact]
    public void FrameHoldsLengthBothCrcsAndData()
    {
        var data = Encoding.UTF8.GetBytes("hello event");
        var record = TfRecord.Frame(data);
        Assert.Equal(12 + data.Length + 4, record.Length);
        Assert.Equal((ulong)data.Length, BinaryPrimitives.ReadUInt64LittleEndian(record));
        Assert.Equal(Crc32C.Masked(record.AsSpan(0, 8)), BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(8)));
        Assert.Equal(data, record.AsSpan(12, data.Length).ToArray());
        Assert.Equal(Crc32C.Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(12 + data.Length)));
    }

    [Fact]
    public void TornLastRecordEndsReadingAtEveryCutPoint()
    {
        var first = TfRecord.Frame(Encoding.UTF8.GetBytes("first"));
        var second = TfRecord.Frame(Encoding.UTF8.GetBytes("second record"));
        var whole = first.Concat(second).ToArray();
        for (int cut = first.Length + 1; cut < whole.Length; cut++)
        {
            long? torn = null;
            var records = TfRecord.Read(new MemoryStream(whole[..cut]), at => torn = at).ToList();
            Assert.Single(records);
            Assert.Equal("first", Encoding.UTF8.GetString(records[0]));
            Assert.Equal(first.Length, torn);
        }
        long? none = null;
        Assert.Equal(2, TfRecord.Read(new MemoryStream(whole), at => none = at).Count());
        Assert.Null(none);
    }

    [Theory]
    [InlineData(3)]   // a length byte
    [InlineData(9)]   // the length CRC
    [InlineData(14)]  // a data byte
    [InlineData(21)]  // the data CRC
    public void FlippedBitInACompleteRecordIsDamage(int offset)
    {
        var record = TfRecord.Frame(Encoding.UTF8.GetBytes("payload"));
        Assert.Equal(23, record.Length);
        record[offset] ^= 0x10;
        var ex = Assert.Throws<InvalidDataException>(() => TfRecord.Read(new MemoryStream(record), source: "x.tfevents").ToList());
        Assert.Contains("x.tfevents", ex.Message);
        Assert.Contains("CRC", ex.Message);
    }

    [Fact]
    public void EventsRoundTripThroughTheProtobufEncoding()
    {
        var events = new[]
        {
            new TensorBoardEvent { WallTime = 1764000000.25, FileVersion = TensorBoardEvent.FileVersion2 },
            new TensorBoardEvent { WallTime = 1764000001.5, Step = 300, Scalars = new[] { new TensorBoardScalar("loss", 0.125f), new TensorBoardScalar("val_loss", float.NaN) } },
            new TensorBoardEvent { WallTime = 1764000002, Step = 81, Session = SessionStatus.Start },
        };
        foreach (var e in events)
        {
            var back = TensorBoardEvent.Decode(e.Encode());
            Assert.Equal(e.WallTime, back.WallTime);
            Assert.Equal(e.Step, back.Step);
            Assert.Equal(e.FileVersion, back.FileVersion);
            Assert.Equal(e.Session, back.Session);
            Assert.Equal(e.Scalars.Select(s => s.Tag), back.Scalars.Select(s => s.Tag));
            Assert.Equal(e.Scalars.Select(s => BitConverter.SingleToInt32Bits(s.Value)), back.Scalars.Select(s => BitConverter.SingleToInt32Bits(s.Value)));
        }
    }

    [Fact]
    public void EncodingUsesEventProtoFieldNumbers()
    {
        // Event{wall_time(1, fixed64)=0, step(2, varint)=300, summary(5){value(1){tag(1)="a", simple_value(2, fixed32)=1.0f}}}
        var bytes = new TensorBoardEvent { Step = 300, Scalars = new[] { new TensorBoardScalar("a", 1f) } }.Encode();
        byte[] expected =
        {
            0x09, 0, 0, 0, 0, 0, 0, 0, 0,
            0x10, 0xAC, 0x02,
            0x2A, 0x0A, 0x0A, 0x08, 0x0A, 0x01, (byte)'a', 0x15, 0x00, 0x00, 0x80, 0x3F,
        };
        Assert.Equal(expected, bytes);
        // SessionLog(7){status(1)=START(1)}
        var start = new TensorBoardEvent { Step = 5, Session = SessionStatus.Start }.Encode();
        Assert.Equal(new byte[] { 0x3A, 0x02, 0x08, 0x01 }, start[^4..]);
    }

    [Fact]
    public void WriterNamesFilesSoLaterSegmentsSortAfterEarlierOnes()
    {
        string dir = Directory.CreateTempSubdirectory("kohya-tfevents-").FullName;
        try
        {
            var now = new DateTime(2026, 11, 25, 18, 0, 0, DateTimeKind.Utc);
            using (var a = EventFileWriter.Create(dir, now, "box")) Assert.EndsWith(".1795629600.box", a.Path);
            using (var b = EventFileWriter.Create(dir, now, "box")) Assert.EndsWith(".1795629601.box", b.Path);
            using (var c = EventFileWriter.Create(dir, now.AddSeconds(-30), "box")) Assert.EndsWith(".1795629602.box", c.Path);
            var files = EventFileReader.ReadFolder(dir);
            Assert.Equal(3, files.Count);
            Assert.All(files, f => Assert.Equal(TensorBoardEvent.FileVersion2, Assert.Single(f.Events).FileVersion));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
