using System.Security.Cryptography;
using System.Text;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Checkpoints.Safetensors;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kohyaps-safetensors-" + Guid.NewGuid().ToString("N"));

    public SafetensorsRoundTripTests()
    {
        TorchRuntime.EnsureLoaded();
        Directory.CreateDirectory(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathFor(string name) => Path.Combine(_dir, name);

    public static TheoryData<ScalarType, string> Dtypes => new()
    {
        { ScalarType.Float32, "F32" }, { ScalarType.Float16, "F16" }, { ScalarType.BFloat16, "BF16" }, { ScalarType.Float64, "F64" },
        { ScalarType.Int64, "I64" }, { ScalarType.Int32, "I32" }, { ScalarType.Int16, "I16" }, { ScalarType.Int8, "I8" },
        { ScalarType.Byte, "U8" }, { ScalarType.Bool, "BOOL" }, { ScalarType.ComplexFloat32, "C64" },
    };

    /// <summary>A tensor whose storage is random bits (NaN payloads, denormals and all); bools get 0/1.</summary>
    private static Tensor RandomBits(long[] shape, ScalarType dtype, int seed)
    {
        var t = torch.empty(shape, dtype);
        var bytes = new byte[t.numel() * t.element_size()];
        new Random(seed).NextBytes(bytes);
        if (dtype == ScalarType.Bool)
            for (int i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        if (bytes.Length > 0)
            t.bytes = bytes;
        return t;
    }

    private static byte[] Bits(Tensor t)
    {
        using var c = t.cpu().contiguous();
        return c.numel() == 0 ? Array.Empty<byte>() : c.bytes.ToArray();
    }

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void EveryDtypeRoundTripsBitwiseIncludingScalarAndEmpty(ScalarType dtype, string name)
    {
        using var matrix = RandomBits(new long[] { 3, 5 }, dtype, 1);
        using var scalar = RandomBits(Array.Empty<long>(), dtype, 2);
        using var empty = RandomBits(new long[] { 4, 0, 2 }, dtype, 3);
        using var vector = RandomBits(new long[] { 7 }, dtype, 4);
        var input = new Dictionary<string, Tensor> { ["matrix"] = matrix, ["scalar"] = scalar, ["empty"] = empty, ["vector"] = vector };
        string path = PathFor($"{name}.safetensors");

        var result = SafetensorsWriter.Write(path, input, null);
        Assert.Equal(new FileInfo(path).Length, result.FileLength);

        using var file = SafetensorsFile.Open(path);
        foreach (var (key, original) in input)
        {
            var entry = file.Header.GetEntry(key);
            Assert.Equal(name, entry.Dtype.GetName());
            Assert.Equal(original.shape, entry.GetShape());
            using var back = file.ReadTensor(key);
            Assert.Equal(dtype, back.dtype);
            Assert.Equal(original.shape, back.shape);
            Assert.Equal(Bits(original), Bits(back));
        }
    }

    [Fact]
    public void MixedDtypesAreLaidOutAlignedAndReadLazily()
    {
        using var a = RandomBits(new long[] { 3 }, ScalarType.Byte, 5);     // 3 bytes would misalign anything after it
        using var b = RandomBits(new long[] { 2 }, ScalarType.Float64, 6);
        using var c = RandomBits(new long[] { 3 }, ScalarType.Float16, 7);
        using var d = RandomBits(new long[] { 1 }, ScalarType.Int32, 8);
        string path = PathFor("mixed.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b, ["c"] = c, ["d"] = d }, null);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(0, file.Header.DataStart % 8);
        foreach (var e in file.Entries)
            Assert.Equal(0, e.Begin % (e.Dtype.GetBitSize() / 8));

        var seen = new List<string>();
        foreach (var (name, tensor) in file.ReadAll(torch.CPU))
        {
            using (tensor)
            {
                seen.Add(name);
                var original = name switch { "a" => a, "b" => b, "c" => c, _ => d };
                Assert.Equal(Bits(original), Bits(tensor));
            }
        }
        Assert.Equal(file.Entries.Select(e => e.Name), seen);
    }

    [Fact]
    public void HeaderIsPaddedToEightWithSortedKeysInTheReferenceLayout()
    {
        using var t = torch.arange(6, dtype: ScalarType.Float32).reshape(1, 2, 3);
        using var ms = new MemoryStream();
        SafetensorsWriter.Write(ms, new[] { KeyValuePair.Create("attn.0", t) }, null);
        byte[] bytes = ms.ToArray();

        string header = SafetensorsBytes.HeaderText(bytes);
        Assert.Equal(0UL, SafetensorsBytes.DeclaredLength(bytes) % 8);
        Assert.Equal("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", header.TrimEnd(' '));
        Assert.Equal(64, header.Length); // already a multiple of 8: no padding
        Assert.Equal(BitConverter.GetBytes(5.0f), bytes[^4..]);

        using var t4 = t.reshape(1, 1, 2, 3);
        using var padded = new MemoryStream();
        SafetensorsWriter.Write(padded, new[] { KeyValuePair.Create("attn0", t4) }, null);
        string header4 = SafetensorsBytes.HeaderText(padded.ToArray());
        Assert.Equal("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}" + new string(' ', 7), header4); // 65 → 72

        using var many = new MemoryStream();
        using var x = torch.zeros(1);
        var names = new[] { "b", "a", "B", "_", "a.b", "ä", "a0" };
        SafetensorsWriter.Write(many, names.Select(n => KeyValuePair.Create(n, x)),
            new Dictionary<string, string> { ["z"] = "1", ["A"] = "2" });
        string text = SafetensorsBytes.HeaderText(many.ToArray());
        Assert.Equal(0UL, SafetensorsBytes.DeclaredLength(many.ToArray()) % 8); // bytes, not chars ("ä" is two)
        var order = names.Select(n => (n, text.IndexOf($"\"{n}\":{{", StringComparison.Ordinal))).OrderBy(p => p.Item2).Select(p => p.n);
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), order);
        Assert.StartsWith("{\"__metadata__\":{\"A\":\"2\",\"z\":\"1\"},", text);
    }

    [Fact]
    public void EmptyTensorSetWritesTheMinimalFile()
    {
        using var ms = new MemoryStream();
        var r = SafetensorsWriter.Write(ms, Array.Empty<KeyValuePair<string, Tensor>>(), null);
        Assert.Equal(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 }, ms.ToArray());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Array.Empty<byte>())), r.DataSha256);
    }

    [Fact]
    public void MetadataRoundTripsExactly()
    {
        var metadata = new Dictionary<string, string>
        {
            ["ss_network_dim"] = "16",
            ["ss_datasets"] = "[{\"subsets\": [{\"image_dir\": \"10_sks cat\"}]}]",
            ["ss_tag_frequency"] = "{\"10_sks cat\": {\"cat\": 12}}",
            ["modelspec.title"] = "Katze — ünïcödé ✓ 🐈",
            ["control"] = "tab\tnewline\n quote\" backslash\\ nul\0 <html>&",
            ["empty"] = "",
        };
        using var t = torch.ones(2);
        string path = PathFor("meta.safetensors");
        SafetensorsWriter.Write(path, new[] { KeyValuePair.Create("w", t) }, metadata);

        using var file = SafetensorsFile.Open(path);
        Assert.True(file.Header.HasMetadata);
        Assert.Equal(metadata.OrderBy(p => p.Key, StringComparer.Ordinal), file.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void DataSha256IsTheHashOfTheBytesAfterTheHeader()
    {
        using var a = RandomBits(new long[] { 64, 33 }, ScalarType.Float32, 11);
        using var b = RandomBits(new long[] { 5 }, ScalarType.BFloat16, 12);
        string path = PathFor("hash.safetensors");
        var result = SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b },
            new Dictionary<string, string> { ["ss_output_name"] = "cat" });

        byte[] bytes = File.ReadAllBytes(path);
        int dataStart = 8 + (int)SafetensorsBytes.DeclaredLength(bytes);
        string independent = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(dataStart)));
        Assert.Equal(independent, result.DataSha256);
        Assert.Equal(bytes.Length - dataStart, result.DataLength);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(independent, file.ComputeDataSha256());
    }

    [Fact]
    public void ModelHashCanBeEmbeddedWithoutReadingTheFileBack()
    {
        using var a = RandomBits(new long[] { 10, 10 }, ScalarType.Float16, 13);
        string path = PathFor("embedded.safetensors");
        var result = SafetensorsWriter.Write(path, new[] { KeyValuePair.Create("a", a) },
            new Dictionary<string, string> { ["sshs_model_hash"] = "stale", ["ss_seed"] = "42" }, embedModelHash: true);

        byte[] bytes = File.ReadAllBytes(path);
        int dataStart = 8 + (int)SafetensorsBytes.DeclaredLength(bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(dataStart))), result.DataSha256);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), result.FileSha256);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(result.DataSha256, file.Metadata[SafetensorsWriter.ModelHashMetadataKey]);
        Assert.Equal("42", file.Metadata["ss_seed"]);

        // Without any metadata given, the key is added.
        using var ms = new MemoryStream();
        var r2 = SafetensorsWriter.Write(ms, new[] { KeyValuePair.Create("a", a) }, null, embedModelHash: true);
        ms.Position = 0;
        Assert.Equal(r2.DataSha256, SafetensorsHeader.Read(ms).Metadata["sshs_model_hash"]);
    }

    [Fact]
    public void FileHashIsTheSha256OfEveryByteWritten()
    {
        using var a = RandomBits(new long[] { 300, 7 }, ScalarType.Float32, 21);
        using var b = RandomBits(new long[] { 5 }, ScalarType.Int8, 22);
        string path = PathFor("hashed.safetensors");
        SafetensorsWriteResult result;
        using (var stream = new FileStream(path, FileMode.CreateNew))
            result = SafetensorsWriter.Write(stream, new[] { KeyValuePair.Create("a", a), KeyValuePair.Create("b", b) },
                new Dictionary<string, string> { ["note"] = "x" }, embedModelHash: false, chunkBytes: 64); // many chunks per tensor
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(result.FileLength, bytes.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), result.FileSha256);
        Assert.Equal(Checksums.HashFile(path), result.FileSha256);

        // The path overload hashes from memory while the device flush runs; a checkpoint asks for the file hash only.
        string second = PathFor("hashed-by-path.safetensors");
        var byPath = SafetensorsWriter.Write(second, new[] { KeyValuePair.Create("a", a), KeyValuePair.Create("b", b) },
            new Dictionary<string, string> { ["note"] = "x" }, embedModelHash: false, hashData: false);
        Assert.Equal(Checksums.HashFile(second), byPath.FileSha256);
        Assert.Equal(result.FileSha256, byPath.FileSha256);
        Assert.Equal("", byPath.DataSha256);
    }

    [Fact]
    public void NonContiguousInputIsWrittenInLogicalOrder()
    {
        using var t = torch.arange(12, dtype: ScalarType.Int32).reshape(3, 4);
        using var transposed = t.t();
        Assert.False(transposed.is_contiguous());
        using var ms = new MemoryStream();
        SafetensorsWriter.Write(ms, new[] { KeyValuePair.Create("t", transposed) }, null);
        string path = PathFor("transposed.safetensors");
        File.WriteAllBytes(path, ms.ToArray());

        using var file = SafetensorsFile.Open(path);
        using var back = file.ReadTensor("t");
        Assert.Equal(new long[] { 4, 3 }, back.shape);
        Assert.Equal(new[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, back.data<int>().ToArray());
    }

    [Fact]
    public void ChunkedPathsMatchTheSinglePiecePath()
    {
        // The chunked route is what tensors over 2 GiB take; force it with a 24-byte chunk.
        using var a = RandomBits(new long[] { 37, 3 }, ScalarType.Float64, 14);
        using var single = new MemoryStream();
        using var chunked = new MemoryStream();
        var r1 = SafetensorsWriter.Write(single, new[] { KeyValuePair.Create("a", a) }, null);
        var r2 = SafetensorsWriter.Write(chunked, new[] { KeyValuePair.Create("a", a) }, null, false, chunkBytes: 24);
        Assert.Equal(single.ToArray(), chunked.ToArray());
        Assert.Equal(r1.DataSha256, r2.DataSha256);

        string path = PathFor("chunked.safetensors");
        File.WriteAllBytes(path, chunked.ToArray());
        using var file = SafetensorsFile.Open(path);
        using var back = file.ReadTensor(file.Header.GetEntry("a"), null, chunkBytes: 40);
        Assert.Equal(Bits(a), Bits(back));
    }

    [Fact]
    public void ReaderReportsMissingTensorsInvalidBoolsAndForeignDtypes()
    {
        string path = PathFor("odd.safetensors");
        File.WriteAllBytes(path, SafetensorsBytes.Build(Encoding.UTF8.GetBytes(
            "{\"flags\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}," +
            "\"fp8\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[3,5]}}"), new byte[] { 1, 2, 0, 0x38, 0xC0 }));

        using var file = SafetensorsFile.Open(path);
        var missing = Assert.Throws<SafetensorsFormatException>(() => file.ReadTensor("nope"));
        Assert.Equal(SafetensorsErrorIds.TensorNotFound, missing.ErrorId);
        Assert.Contains(path, missing.Message);

        var badBool = Assert.Throws<SafetensorsFormatException>(() => file.ReadTensor("flags"));
        Assert.Equal(SafetensorsErrorIds.InvalidBoolValue, badBool.ErrorId);
        Assert.Contains("'flags'", badBool.Message);

        var fp8 = Assert.Throws<KohyaException>(() => file.ReadTensor("fp8"));
        Assert.Equal("SafetensorsDtypeNotSupported", fp8.ErrorId);
        Assert.Equal(new byte[] { 0x38, 0xC0 }, file.ReadBytes("fp8"));
    }

    [Fact]
    public void FileTruncatedOnDiskIsRejectedAtOpen()
    {
        using var a = RandomBits(new long[] { 16 }, ScalarType.Float32, 15);
        string path = PathFor("cut.safetensors");
        SafetensorsWriter.Write(path, new[] { KeyValuePair.Create("a", a) }, null);
        using (var fs = new FileStream(path, FileMode.Open))
            fs.SetLength(fs.Length - 5);
        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path));
        Assert.Equal(SafetensorsErrorIds.Truncated, ex.ErrorId);
        Assert.Contains(path, ex.Message);
        File.Delete(path); // the failed open must not keep the file locked
    }

    [Fact]
    public void WriterRefusesWhatTheFormatCannotHold()
    {
        using var t = torch.zeros(1);
        using var c128 = torch.zeros(1, dtype: ScalarType.ComplexFloat64);
        using var ms = new MemoryStream();
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(ms, new[] { KeyValuePair.Create("a", t), KeyValuePair.Create("a", t) }, null));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(ms, new[] { KeyValuePair.Create("__metadata__", t) }, null));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(ms, new[] { KeyValuePair.Create("\ud800", t) }, null));
        var ex = Assert.Throws<KohyaException>(() => SafetensorsWriter.Write(ms, new[] { KeyValuePair.Create("c", c128) }, null));
        Assert.Equal("SafetensorsUnsupportedDtype", ex.ErrorId);
        Assert.Equal(0, ms.Length);
    }

    [Fact]
    public void WriterLeavesCallerTensorsAliveInsideTheirDisposeScope()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.ones(3, 3);
        using var ms = new MemoryStream();
        SafetensorsWriter.Write(ms, new[] { KeyValuePair.Create("t", t) }, null);
        Assert.Equal(9f, t.sum().item<float>());
    }
}
