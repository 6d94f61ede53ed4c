using System.Text;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints.Safetensors;
using static KohyaPS.Tests.Checkpoints.Safetensors.SafetensorsBytes;

namespace KohyaPS.Tests.Checkpoints.Safetensors;

public sealed class SafetensorsHeaderTests
{
    private const string File = "weights.safetensors";

    private static SafetensorsFormatException Fails(byte[] bytes, string errorId)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsHeader.Parse(bytes, File));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidData, ex.Kind);
        Assert.Contains(File, ex.Message);
        Assert.Equal(File, ex.Target);
        Assert.False(string.IsNullOrEmpty(ex.RecommendedAction));

        // The stream path must agree with the in-memory path.
        using var stream = new MemoryStream(bytes);
        var viaStream = Assert.Throws<SafetensorsFormatException>(() => SafetensorsHeader.Read(stream, File));
        Assert.Equal(errorId, viaStream.ErrorId);
        return ex;
    }

    private static SafetensorsFormatException Fails(string json, int dataLength, string errorId) =>
        Fails(Build(json, dataLength), errorId);

    [Fact]
    public void HandBuiltFileParses()
    {
        // Built by hand per the spec: u64 LE header length, UTF-8 JSON, then raw little-endian data.
        byte[] json = Encoding.UTF8.GetBytes(
            "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\\u00e9\"}," +
            "\"b\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[8,9]}," +
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
            "\"e\":{\"dtype\":\"I64\",\"shape\":[0,3],\"data_offsets\":[9,9]}}  ");
        byte[] data = { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x07 }; // 1.0f, -2.0f, 7
        var file = new List<byte> { (byte)json.Length, (byte)(json.Length >> 8), 0, 0, 0, 0, 0, 0 };
        file.AddRange(json);
        file.AddRange(data);

        var header = SafetensorsHeader.Parse(file.ToArray(), File);

        Assert.Equal(json.Length, header.HeaderLength);
        Assert.Equal(8 + json.Length, header.DataStart);
        Assert.Equal(9, header.DataLength);
        Assert.Equal(file.Count, header.FileLength);
        Assert.True(header.HasMetadata);
        Assert.Equal("pt", header.Metadata["format"]);
        Assert.Equal("café", header.Metadata["note"]);
        Assert.Equal(new[] { "a", "b", "e" }, header.Entries.Select(e => e.Name)); // by offset, not key order

        var a = header.GetEntry("a");
        Assert.Equal(SafetensorsDtype.F32, a.Dtype);
        Assert.Equal(new long[] { 2 }, a.Shape);
        Assert.Equal((0L, 8L), (a.Begin, a.End));
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, a.ScalarType);

        var b = header.GetEntry("b");
        Assert.Empty(b.Shape);
        Assert.Equal(1, b.ElementCount);
        Assert.Equal((8L, 9L), (b.Begin, b.End));

        var e = header.GetEntry("e");
        Assert.Equal(new long[] { 0, 3 }, e.Shape);
        Assert.Equal(0, e.ByteLength);
    }

    [Fact]
    public void EntriesAreSortedByOffsetWhateverTheKeyOrder()
    {
        var header = SafetensorsHeader.Parse(Build(
            "{\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}," +
            "\"m\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,1]}," +
            "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3), File);
        Assert.Equal(new[] { "z", "m", "a" }, header.Entries.Select(e => e.Name));
    }

    [Fact]
    public void EmptyFileWithNoTensorsParses()
    {
        var header = SafetensorsHeader.Parse(Build("{}      ", 0), File);
        Assert.Empty(header.Entries);
        Assert.False(header.HasMetadata);
        Assert.Empty(header.Metadata);
    }

    [Fact]
    public void NullMetadataIsTreatedAsAbsentLikeTheReference()
    {
        var header = SafetensorsHeader.Parse(Build("{\"__metadata__\":null}", 0), File);
        Assert.False(header.HasMetadata);
    }

    [Fact]
    public void DtypeTableCoversTheSpecification()
    {
        string[] spec = { "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",
                          "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64" };
        Assert.Equal(spec, SafetensorsDtypes.All.Select(d => d.GetName()));
        foreach (var d in SafetensorsDtypes.All)
        {
            Assert.True(SafetensorsDtypes.TryParse(d.GetName(), out var back));
            Assert.Equal(d, back);
        }
        Assert.Equal(8, SafetensorsDtype.F8E4M3.GetBitSize());
        Assert.Equal(8, SafetensorsDtype.F8E5M2.GetBitSize());
        Assert.Equal(4, SafetensorsDtype.F4.GetBitSize());
        Assert.Null(SafetensorsDtype.F8E4M3.ToScalarType());
        Assert.False(SafetensorsDtypes.TryParse("f32", out _));

        // Sub-byte kinds: 2 × F4 is one byte; an odd count is not a whole number of bytes.
        Assert.Single(SafetensorsHeader.Parse(Build("{\"q\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1), File).Entries);
        Fails("{\"q\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", 1, SafetensorsErrorIds.ShapeMismatch);
    }

    // ---- one crafted input per rule ----

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(7)]
    public void TruncatedInsideTheLengthPrefix(int length) =>
        Fails(Build("{}      ", 0)[..length], SafetensorsErrorIds.Truncated);

    [Fact]
    public void TruncatedInsideTheHeader()
    {
        var good = Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        var ex = Fails(good[..(8 + 20)], SafetensorsErrorIds.HeaderLengthExceedsFile);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void TruncatedInsideTensorData()
    {
        var good = Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24);
        var ex = Fails(good[..^3], SafetensorsErrorIds.Truncated);
        Assert.Equal("b", ex.TensorName);
        Assert.Contains("'b'", ex.Message);
    }

    [Fact]
    public void HeaderLengthBeyondTheFile() =>
        Fails(Build(Encoding.UTF8.GetBytes("{}"), new byte[16], declaredLength: 1000), SafetensorsErrorIds.HeaderLengthExceedsFile);

    [Fact]
    public void HeaderLengthAtTheCapButBeyondTheFileIsNotAllocated()
    {
        var bytes = Build(Encoding.UTF8.GetBytes("{}"), new byte[6], declaredLength: 100_000_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Fails(bytes, SafetensorsErrorIds.HeaderLengthExceedsFile);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000, "a claimed length was allocated before it was checked");
    }

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(1UL << 32)]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue)]
    public void AbsurdHeaderLength(ulong declared) =>
        Fails(Build(Encoding.UTF8.GetBytes("{}"), new byte[6], declaredLength: declared), SafetensorsErrorIds.HeaderTooLarge);

    [Fact]
    public void HeaderNotUtf8()
    {
        byte[] json = Encoding.UTF8.GetBytes("{\"__metadata__\":{\"k\":\"v?\"}}");
        json[Array.IndexOf(json, (byte)'?')] = 0xFF;
        var ex = Fails(Build(json, Array.Empty<byte>()), SafetensorsErrorIds.HeaderNotUtf8);
        Assert.Contains("offset 23", ex.Message);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"a\":1}]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void HeaderNotAnObject(string json) => Fails(json, 0, SafetensorsErrorIds.HeaderNotObject);

    [Theory]
    [InlineData("")]
    [InlineData("        ")]
    [InlineData("{\"a\":")]
    [InlineData("{} x")]
    [InlineData("{}{}")]
    [InlineData("{/*c*/}")]
    [InlineData("{\"__metadata__\":{\"k\":\"v\",}}")]
    [InlineData("{'a':1}")]
    [InlineData("{\"\\ud800\":{}}")]
    [InlineData("{\"__metadata__\":{\"k\":\"\\x41\"}}")]
    [InlineData("{}\0\0\0\0\0\0")]
    public void InvalidJson(string json) => Fails(json, 0, SafetensorsErrorIds.InvalidJson);

    [Fact]
    public void NestingBeyondTheDepthLimitIsInvalidJson() =>
        Fails("{\"a\":" + new string('[', 200) + new string(']', 200) + "}", 0, SafetensorsErrorIds.InvalidJson);

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", "a")]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"\\u0061\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", "a")]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", "a")]
    [InlineData("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", null)]
    [InlineData("{\"__metadata__\":{},\"__metadata__\":{},\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", null)]
    public void DuplicateKeys(string json, string? tensor)
    {
        var ex = Fails(json, 2, SafetensorsErrorIds.DuplicateKey);
        Assert.Equal(tensor, ex.TensorName);
        Assert.Contains("twice", ex.Message);
    }

    [Fact]
    public void OverlappingOffsets()
    {
        var ex = Fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
            SafetensorsErrorIds.OffsetsNotContiguous);
        Assert.Equal("b", ex.TensorName);
        Assert.Contains("overlaps tensor 'a'", ex.Message);
    }

    [Fact]
    public void GapBetweenOffsets()
    {
        var ex = Fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
            SafetensorsErrorIds.OffsetsNotContiguous);
        Assert.Contains("gap of 4 bytes after tensor 'a'", ex.Message);
    }

    [Fact]
    public void GapAtTheStartOfTheData() =>
        Fails("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, SafetensorsErrorIds.OffsetsNotContiguous);

    [Fact]
    public void TrailingBytesNoTensorClaims()
    {
        Fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, SafetensorsErrorIds.OffsetsNotContiguous);
        Fails("{}", 3, SafetensorsErrorIds.OffsetsNotContiguous);
    }

    [Fact]
    public void OutOfBoundsOffsets()
    {
        var ex = Fails("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[100,104]}}", 4, SafetensorsErrorIds.OffsetsOutOfBounds);
        Assert.Equal("a", ex.TensorName);
        Fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 8,
            SafetensorsErrorIds.OffsetsOutOfBounds);
        Fails("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[9223372036854775807,9223372036854775807]}}", 0, SafetensorsErrorIds.OffsetsOutOfBounds);
    }

    [Theory]
    [InlineData("F128")]
    [InlineData("f32")]
    [InlineData("float32")]
    [InlineData("")]
    public void UnknownDtype(string dtype)
    {
        var ex = Fails($"{{\"w\":{{\"dtype\":\"{dtype}\",\"shape\":[1],\"data_offsets\":[0,4]}}}}", 4, SafetensorsErrorIds.UnknownDtype);
        Assert.Equal("w", ex.TensorName);
        Assert.Contains("'w'", ex.Message);
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)]
    [InlineData("{\"w\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,4]}}", 4)]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8)]
    [InlineData("{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}", 8)]
    public void ShapeOffsetMismatch(string json, int dataLength)
    {
        var ex = Fails(json, dataLength, SafetensorsErrorIds.ShapeMismatch);
        Assert.Equal("w", ex.TensorName);
    }

    [Theory]
    [InlineData("{\"__metadata__\":{\"ss_network_dim\":16}}")]
    [InlineData("{\"__metadata__\":{\"k\":null}}")]
    [InlineData("{\"__metadata__\":{\"k\":{\"nested\":\"x\"}}}")]
    [InlineData("{\"__metadata__\":{\"k\":[\"x\"]}}")]
    [InlineData("{\"__metadata__\":[]}")]
    [InlineData("{\"__metadata__\":\"text\"}")]
    public void InvalidMetadata(string json)
    {
        var ex = Fails(json, 0, SafetensorsErrorIds.InvalidMetadata);
        Assert.Contains("__metadata__", ex.Message);
    }

    [Fact]
    public void NegativeDimension()
    {
        var ex = Fails("{\"w\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, SafetensorsErrorIds.InvalidEntry);
        Assert.Contains("negative dimension -1", ex.Message);
        Assert.Equal("w", ex.TensorName);
    }

    [Theory]
    [InlineData("{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", "no 'dtype'")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", "no 'shape'")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", "no 'data_offsets'")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":1}}", "unexpected field 'extra'")]
    [InlineData("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", "'dtype' is a number")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":1,\"data_offsets\":[0,1]}}", "'shape' is a number")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]}}", "is a string")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", "not a non-negative integer")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1e0],\"data_offsets\":[0,1]}}", "not a non-negative integer")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[18446744073709551615],\"data_offsets\":[0,1]}}", "larger than")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", "1 number(s)")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", "more than two")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":{\"b\":0}}}", "not [begin, end]")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,0]}}", "end before they begin")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", "negative offset")]
    [InlineData("{\"w\":[\"U8\",[1],[0,1]]}", "not an object")]
    [InlineData("{\"w\":null}", "not an object")]
    public void InvalidEntry(string json, string expected)
    {
        var ex = Fails(json, 1, SafetensorsErrorIds.InvalidEntry);
        Assert.Contains(expected, ex.Message);
        Assert.Equal("w", ex.TensorName);
    }

    [Fact]
    public void RankBeyondTheCapIsRejected()
    {
        string dims = string.Join(",", Enumerable.Repeat("1", SafetensorsHeader.MaxRank + 1));
        Fails($"{{\"w\":{{\"dtype\":\"U8\",\"shape\":[{dims}],\"data_offsets\":[0,1]}}}}", 1, SafetensorsErrorIds.InvalidEntry);
    }

    [Fact]
    public void MissingTensorIsReportedByName()
    {
        var header = SafetensorsHeader.Parse(Build("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1), File);
        var ex = Assert.Throws<SafetensorsFormatException>(() => header.GetEntry("lora_up.weight"));
        Assert.Equal(SafetensorsErrorIds.TensorNotFound, ex.ErrorId);
        Assert.Contains("'lora_up.weight'", ex.Message);
        Assert.Contains(File, ex.Message);
        Assert.False(header.TryGetEntry("lora_up.weight", out _));
    }

    [Fact]
    public void NonSeekableStreamIsRefused()
    {
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        Assert.Throws<ArgumentException>(() => SafetensorsHeader.Read(pipe));
    }
}
