using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Checkpoints.Safetensors;

/// <summary>What <see cref="SafetensorsWriter"/> wrote.</summary>
/// <param name="HeaderLength">N, the JSON header length including its space padding (a multiple of 8).</param>
/// <param name="DataLength">Bytes of tensor data after the header.</param>
/// <param name="DataSha256">Lower-case hex SHA-256 of the bytes after the header: kohya's <c>sshs_model_hash</c> (empty when not asked for).</param>
/// <param name="FileSha256">Lower-case hex SHA-256 of every byte written (what <c>sha256sum</c> prints for the file).</param>
public sealed record SafetensorsWriteResult(long HeaderLength, long DataLength, string DataSha256, string FileSha256)
{
    public long FileLength => SafetensorsHeader.LengthPrefixSize + HeaderLength + DataLength;
}

/// <summary>
/// Writes safetensors files tensor by tensor: one contiguous CPU copy of one tensor at a time, never a buffer of
/// the whole file. Header keys are in ordinal order (metadata first, as <c>__metadata__</c>); the data is laid
/// out by decreasing element size, then name, so that every tensor starts aligned to its element size (the
/// header is space-padded to a multiple of 8, as the reference implementation does). The SHA-256 of the data and
/// of the whole file are computed while streaming, so nobody needs to read the file back to checksum it.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>The kohya / sd-webui metadata key holding the SHA-256 of the bytes after the header.</summary>
    public const string ModelHashMetadataKey = "sshs_model_hash";

    private const int HashHexLength = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Writes a file (created or overwritten) and flushes it to the device with <c>Flush(true)</c>. Write to a
    /// temporary name and rename it into place yourself.
    /// </summary>
    /// <param name="embedModelHash">
    /// Also store the data SHA-256 under <see cref="ModelHashMetadataKey"/> (replacing any value given). The data
    /// is hashed from memory before anything is written (one extra pass over memory, none over the disk).
    /// </param>
    public static SafetensorsWriteResult Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata, bool embedModelHash = false) =>
        Write(path, tensors, metadata, embedModelHash, hashData: true);

    /// <param name="hashData">
    /// Also compute <see cref="SafetensorsWriteResult.DataSha256"/> (empty otherwise); a checkpoint needs only the
    /// file's hash, so it skips this second hash.
    /// </param>
    public static SafetensorsWriteResult Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata, bool embedModelHash, bool hashData)
    {
        ArgumentNullException.ThrowIfNull(path);
        var plan = Plan.Create(tensors, metadata, embedModelHash);
        long chunkBytes = TensorByteChunks.DefaultChunkBytes;
        string? embedded = EmbedDataHash(plan, chunkBytes);
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 1 << 20, // small tensors and the header coalesce into large writes; big chunks bypass it
            PreallocationSize = plan.FileLength,
        };
        using var stream = new FileStream(path, options);
        WriteBytes(stream, plan, chunkBytes, null);
        stream.Flush(flushToDisk: false);
        // The bytes are in the page cache: the device flush waits on the disk while this thread hashes the same
        // bytes from memory, so checksumming costs (almost) no time on top of the write.
        var sync = Task.Run(() => stream.Flush(flushToDisk: true));
        string file, data;
        try
        {
            (file, data) = HashFromMemory(plan, chunkBytes, embedded, hashData);
        }
        finally
        {
            sync.GetAwaiter().GetResult();
        }
        return new SafetensorsWriteResult(plan.Header.Length, plan.DataLength, data, file);
    }

    /// <summary>
    /// Writes to a stream from its current position. A <see cref="FileStream"/> is flushed to the device at the
    /// end; other streams get <see cref="Stream.Flush()"/>.
    /// </summary>
    public static SafetensorsWriteResult Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata, bool embedModelHash = false) =>
        Write(stream, tensors, metadata, embedModelHash, TensorByteChunks.DefaultChunkBytes);

    internal static SafetensorsWriteResult Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata, bool embedModelHash, long chunkBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
            throw new ArgumentException("The stream must be writable.", nameof(stream));
        var plan = Plan.Create(tensors, metadata, embedModelHash);
        var result = WriteCore(stream, plan, chunkBytes);
        if (stream is FileStream fs)
            fs.Flush(flushToDisk: true);
        else
            stream.Flush();
        return result;
    }

    private static SafetensorsWriteResult WriteCore(Stream stream, Plan plan, long chunkBytes)
    {
        string? embedded = EmbedDataHash(plan, chunkBytes);
        using var fileHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var dataHash = embedded is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        WriteBytes(stream, plan, chunkBytes, (chunk, isData) =>
        {
            if (isData) dataHash?.AppendData(chunk);
            fileHash.AppendData(chunk);
        });
        string data = embedded ?? Convert.ToHexStringLower(dataHash!.GetHashAndReset());
        return new SafetensorsWriteResult(plan.Header.Length, plan.DataLength, data, Convert.ToHexStringLower(fileHash.GetHashAndReset()));
    }

    private delegate void ByteSink(ReadOnlySpan<byte> chunk, bool isData);

    /// <summary>When the header carries sshs_model_hash: hashes the data from memory and patches it in; else null.</summary>
    private static string? EmbedDataHash(Plan plan, long chunkBytes)
    {
        if (plan.HashOffset < 0)
            return null;
        using var pre = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var item in plan.Items)
            VisitTensorData(item.Tensor, chunkBytes, chunk => pre.AppendData(chunk));
        string hex = Convert.ToHexStringLower(pre.GetHashAndReset());
        Encoding.ASCII.GetBytes(hex).CopyTo(plan.Header, plan.HashOffset);
        return hex;
    }

    /// <summary>Writes prefix, header and data, handing every piece to <paramref name="sink"/> too.</summary>
    private static void WriteBytes(Stream stream, Plan plan, long chunkBytes, ByteSink? sink)
    {
        Span<byte> prefix = stackalloc byte[SafetensorsHeader.LengthPrefixSize];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)plan.Header.Length);
        stream.Write(prefix);
        sink?.Invoke(prefix, false);
        stream.Write(plan.Header);
        sink?.Invoke(plan.Header, false);
        foreach (var item in plan.Items)
        {
            long written = VisitTensorData(item.Tensor, chunkBytes, chunk =>
            {
                sink?.Invoke(chunk, true);
                stream.Write(chunk);
            });
            if (written != item.ByteLength)
                throw new InvalidOperationException($"Tensor '{item.Name}' changed size while being written ({written} bytes, {item.ByteLength} planned).");
        }
    }

    /// <summary>The SHA-256 of the file (and of its data, when asked and not already known) from the bytes in memory.</summary>
    private static (string File, string Data) HashFromMemory(Plan plan, long chunkBytes, string? embedded, bool hashData)
    {
        using var fileHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var dataHash = hashData && embedded is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        Span<byte> prefix = stackalloc byte[SafetensorsHeader.LengthPrefixSize];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)plan.Header.Length);
        fileHash.AppendData(prefix);
        fileHash.AppendData(plan.Header);
        foreach (var item in plan.Items)
        {
            VisitTensorData(item.Tensor, chunkBytes, chunk =>
            {
                dataHash?.AppendData(chunk);
                fileHash.AppendData(chunk);
            });
        }
        string data = embedded ?? (dataHash is null ? "" : Convert.ToHexStringLower(dataHash.GetHashAndReset()));
        return (Convert.ToHexStringLower(fileHash.GetHashAndReset()), data);
    }

    private static long VisitTensorData(Tensor tensor, long chunkBytes, TensorByteChunks.ChunkAction action)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var t = tensor.detach();
        if (t.device_type != DeviceType.CPU)
            t = t.cpu();
        if (!t.is_contiguous())
            t = t.contiguous();
        return TensorByteChunks.ForEach(t, chunkBytes, action);
    }

    private sealed record Item(string Name, Tensor Tensor, SafetensorsDtype Dtype, long[] Shape, long ByteLength, int ElementSize)
    {
        public long Begin { get; set; }
    }

    private sealed class Plan
    {
        private Plan(byte[] header, List<Item> items, long dataLength, int hashOffset)
        {
            Header = header;
            Items = items;
            DataLength = dataLength;
            HashOffset = hashOffset;
        }

        public byte[] Header { get; }

        /// <summary>Items in data order.</summary>
        public List<Item> Items { get; }

        public long DataLength { get; }

        /// <summary>Offset of the hash hex digits inside the header, or -1.</summary>
        public int HashOffset { get; }

        public long FileLength => SafetensorsHeader.LengthPrefixSize + Header.Length + DataLength;

        public static Plan Create(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata, bool embedHash)
        {
            ArgumentNullException.ThrowIfNull(tensors);
            var items = new List<Item>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, tensor) in tensors)
            {
                if (name is null)
                    throw new ArgumentException("A tensor name is null.", nameof(tensors));
                if (name == SafetensorsHeader.MetadataKey)
                    throw new ArgumentException($"'{SafetensorsHeader.MetadataKey}' is reserved and cannot name a tensor.", nameof(tensors));
                CheckUtf16(name, "Tensor name", nameof(tensors));
                if (!names.Add(name))
                    throw new ArgumentException($"Tensor '{name}' is given twice.", nameof(tensors));
                if (tensor is null)
                    throw new ArgumentException($"Tensor '{name}' is null.", nameof(tensors));
                var scalar = tensor.dtype;
                if (!SafetensorsDtypes.TryFromScalarType(scalar, out var dtype))
                    throw new KohyaException("SafetensorsUnsupportedDtype", KohyaErrorKind.InvalidArgument,
                        $"Tensor '{name}' has element type {scalar}, which safetensors cannot store.", target: name);
                long[] shape = tensor.shape;
                int elementSize = dtype.Value.GetBitSize() / 8;
                items.Add(new Item(name, tensor, dtype.Value, shape, tensor.numel() * elementSize, elementSize));
            }

            // Data order: decreasing element size, then name, so every tensor starts aligned to its element size.
            items.Sort(static (a, b) => a.ElementSize != b.ElementSize ? b.ElementSize.CompareTo(a.ElementSize) : string.CompareOrdinal(a.Name, b.Name));
            long offset = 0;
            foreach (var item in items)
            {
                item.Begin = offset;
                offset += item.ByteLength;
            }

            var (header, hashOffset) = BuildHeader(items, metadata, embedHash);
            return new Plan(header, items, offset, hashOffset);
        }

        private static (byte[] Header, int HashOffset) BuildHeader(List<Item> items, IReadOnlyDictionary<string, string>? metadata, bool embedHash)
        {
            var buffer = new ArrayBufferWriter<byte>();
            int hashOffset = -1;
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                json.WriteStartObject();
                if (metadata is not null || embedHash)
                {
                    var keys = new List<string>();
                    if (metadata is not null)
                    {
                        foreach (var (key, value) in metadata)
                        {
                            if (key is null || value is null)
                                throw new ArgumentException("Metadata keys and values must not be null.", nameof(metadata));
                            CheckUtf16(key, "Metadata key", nameof(metadata));
                            CheckUtf16(value, $"Metadata value of '{key}'", nameof(metadata));
                            keys.Add(key);
                        }
                    }
                    if (embedHash && !keys.Contains(ModelHashMetadataKey))
                        keys.Add(ModelHashMetadataKey);
                    keys.Sort(StringComparer.Ordinal);

                    json.WriteStartObject(SafetensorsHeader.MetadataKey);
                    foreach (string key in keys)
                    {
                        if (embedHash && key == ModelHashMetadataKey)
                        {
                            json.WritePropertyName(key);
                            json.Flush();
                            hashOffset = checked((int)json.BytesCommitted) + 1; // past the opening quote
                            json.WriteStringValue(new string('0', HashHexLength));
                        }
                        else
                        {
                            json.WriteString(key, metadata![key]);
                        }
                    }
                    json.WriteEndObject();
                }

                foreach (var item in items.OrderBy(i => i.Name, StringComparer.Ordinal))
                {
                    json.WriteStartObject(item.Name);
                    json.WriteString("dtype", item.Dtype.GetName());
                    json.WriteStartArray("shape");
                    foreach (long d in item.Shape)
                        json.WriteNumberValue(d);
                    json.WriteEndArray();
                    json.WriteStartArray("data_offsets");
                    json.WriteNumberValue(item.Begin);
                    json.WriteNumberValue(item.Begin + item.ByteLength);
                    json.WriteEndArray();
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }

            int length = buffer.WrittenCount;
            int padded = (length + 7) / 8 * 8;
            if (padded > SafetensorsHeader.MaxHeaderLength)
                throw new KohyaException("SafetensorsHeaderTooLarge", KohyaErrorKind.InvalidArgument,
                    $"The header would be {padded:N0} bytes; safetensors readers refuse more than {SafetensorsHeader.MaxHeaderLength:N0}. Store less metadata.");
            var header = new byte[padded];
            buffer.WrittenSpan.CopyTo(header);
            header.AsSpan(length).Fill((byte)' ');
            if (hashOffset >= 0 && header[hashOffset - 1] != (byte)'"')
                throw new InvalidOperationException("Internal error: the model hash placeholder is not where it was written.");
            return (header, hashOffset);
        }

        private static void CheckUtf16(string s, string what, string paramName)
        {
            try
            {
                _ = StrictUtf8.GetByteCount(s);
            }
            catch (EncoderFallbackException ex)
            {
                throw new ArgumentException($"{what} '{s}' is not valid UTF-16 (lone surrogate); it cannot be stored as UTF-8.", paramName, ex);
            }
        }
    }
}
