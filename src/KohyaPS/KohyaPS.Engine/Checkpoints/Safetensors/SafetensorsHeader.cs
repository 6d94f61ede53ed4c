using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace KohyaPS.Engine.Checkpoints.Safetensors;

/// <summary>
/// The validated header of a safetensors file: its tensor entries (sorted by offset), its <c>__metadata__</c>
/// and where the data region lies. Every way the bytes can break the format surfaces as a
/// <see cref="SafetensorsFormatException"/> with a rule-specific id; nothing is allocated on the strength of a
/// declared length before that length has been checked against the real file length.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>The reference implementation's cap on the JSON header length.</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>Size of the little-endian u64 header length that starts every file.</summary>
    public const int LengthPrefixSize = 8;

    /// <summary>The reserved header key holding the string→string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Most dimensions a tensor entry may have (keeps hostile headers from amplifying into huge allocations).</summary>
    public const int MaxRank = 1024;

    private const string StreamName = "<stream>";

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 64,
    };

    private readonly Dictionary<string, SafetensorsEntry> _byName;

    private SafetensorsHeader(string fileName, long headerLength, long dataLength, List<SafetensorsEntry> entries,
        Dictionary<string, string>? metadata)
    {
        FileName = fileName;
        HeaderLength = headerLength;
        DataLength = dataLength;
        Entries = entries.AsReadOnly();
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        HasMetadata = metadata is not null;
        Metadata = new ReadOnlyDictionary<string, string>(metadata ?? new Dictionary<string, string>(StringComparer.Ordinal));
    }

    /// <summary>The file (or stream description) the header came from; used in error messages.</summary>
    public string FileName { get; }

    /// <summary>Length N of the JSON header in bytes (the value of the 8-byte prefix), padding included.</summary>
    public long HeaderLength { get; }

    /// <summary>Offset of the first data byte from the start of the file: 8 + N.</summary>
    public long DataStart => LengthPrefixSize + HeaderLength;

    /// <summary>Length of the data region; the entries tile [0, DataLength) exactly.</summary>
    public long DataLength { get; }

    /// <summary>Length of the whole file.</summary>
    public long FileLength => DataStart + DataLength;

    /// <summary>Tensor entries sorted by begin offset (then end, then name).</summary>
    public ReadOnlyCollection<SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>True when the header holds a <c>__metadata__</c> object (possibly empty); false when absent or null.</summary>
    public bool HasMetadata { get; }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TryGetEntry(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafetensorsEntry? entry) =>
        _byName.TryGetValue(name, out entry);

    /// <summary>The entry called <paramref name="name"/>; <see cref="SafetensorsErrorIds.TensorNotFound"/> when there is none.</summary>
    public SafetensorsEntry GetEntry(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_byName.TryGetValue(name, out var entry))
            return entry;
        throw new SafetensorsFormatException(SafetensorsErrorIds.TensorNotFound, FileName,
            $"there is no tensor named '{name}' (the file holds {Entries.Count}).", name);
    }

    /// <summary>Reads and validates the header of the file at <paramref name="path"/>.</summary>
    public static SafetensorsHeader Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        return Read(stream, path);
    }

    /// <summary>
    /// Reads and validates a header from a readable, seekable stream. The file is taken to start at the stream's
    /// current position and to end at the end of the stream; on return the position is at the first data byte.
    /// </summary>
    public static SafetensorsHeader Read(Stream stream, string? fileName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek)
            throw new ArgumentException("The stream must be readable and seekable (its length bounds every declared size).", nameof(stream));
        string file = fileName ?? StreamName;
        long fileLength = stream.Length - stream.Position;

        Span<byte> prefix = stackalloc byte[LengthPrefixSize];
        if (fileLength < LengthPrefixSize || !TryReadExactly(stream, prefix))
            throw TooShortForPrefix(file, Math.Max(0, fileLength));
        int n = CheckDeclaredLength(BinaryPrimitives.ReadUInt64LittleEndian(prefix), fileLength, file);

        // Only now is the allocation bounded by bytes that exist.
        var json = new byte[n];
        if (!TryReadExactly(stream, json))
            throw new SafetensorsFormatException(SafetensorsErrorIds.HeaderLengthExceedsFile, file,
                $"the header declares {n} bytes but the file ended before them (it shrank while being read?).");
        return ParseJson(json, n, fileLength, file);
    }

    /// <summary>Validates a whole file held in memory.</summary>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> file, string? fileName = null)
    {
        string name = fileName ?? StreamName;
        if (file.Length < LengthPrefixSize)
            throw TooShortForPrefix(name, file.Length);
        int n = CheckDeclaredLength(BinaryPrimitives.ReadUInt64LittleEndian(file), file.Length, name);
        return ParseJson(file.Slice(LengthPrefixSize, n), n, file.Length, name);
    }

    private static bool TryReadExactly(Stream stream, Span<byte> buffer)
    {
        try
        {
            stream.ReadExactly(buffer);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    private static SafetensorsFormatException TooShortForPrefix(string file, long length) =>
        new(SafetensorsErrorIds.Truncated, file,
            $"the file is {length} bytes long, shorter than the 8-byte header length that starts every safetensors file (truncated).");

    /// <summary>Checks the declared header length against the cap and the real file length; returns it as an int.</summary>
    private static int CheckDeclaredLength(ulong declared, long fileLength, string file)
    {
        if (declared > MaxHeaderLength)
            throw new SafetensorsFormatException(SafetensorsErrorIds.HeaderTooLarge, file,
                $"the header declares {declared:N0} bytes; the limit is {MaxHeaderLength:N0} (not a safetensors file, or a corrupt length).");
        if ((long)declared > fileLength - LengthPrefixSize)
            throw new SafetensorsFormatException(SafetensorsErrorIds.HeaderLengthExceedsFile, file,
                $"the header declares {declared:N0} bytes but only {fileLength - LengthPrefixSize:N0} follow the length prefix (truncated inside the header, or a corrupt length).");
        return (int)declared;
    }

    private static SafetensorsHeader ParseJson(ReadOnlySpan<byte> json, long headerLength, long fileLength, string file)
    {
        if (!Utf8.IsValid(json))
            throw new SafetensorsFormatException(SafetensorsErrorIds.HeaderNotUtf8, file,
                $"the header is not valid UTF-8 (first bad byte at header offset {FirstInvalidUtf8(json)}).");

        CheckSyntax(json, file);

        var reader = new Utf8JsonReader(json, ReaderOptions);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(SafetensorsErrorIds.HeaderNotObject, file,
                $"the header's JSON root is {Describe(reader.TokenType)}, not an object.");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<SafetensorsEntry>();
        Dictionary<string, string>? metadata = null;
        try
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                if (!seen.Add(key))
                {
                    throw key == MetadataKey
                        ? new SafetensorsFormatException(SafetensorsErrorIds.DuplicateKey, file, $"'{MetadataKey}' appears twice in the header.")
                        : new SafetensorsFormatException(SafetensorsErrorIds.DuplicateKey, file, $"tensor '{key}' appears twice in the header.", key);
                }
                reader.Read();
                if (key == MetadataKey)
                    metadata = ReadMetadata(ref reader, file);
                else
                    entries.Add(ReadEntry(ref reader, key, file));
            }
        }
        catch (JsonException ex)
        {
            // The syntax pass accepted the text, so this should not happen; report it as bad JSON all the same.
            throw new SafetensorsFormatException(SafetensorsErrorIds.InvalidJson, file, "the header is not valid JSON: " + ex.Message, inner: ex);
        }

        long dataLength = fileLength - LengthPrefixSize - headerLength;
        CheckLayout(entries, dataLength, file);
        return new SafetensorsHeader(file, headerLength, dataLength, entries, metadata);
    }

    /// <summary>First pass: the whole text must be one well-formed JSON value with valid escapes.</summary>
    private static void CheckSyntax(ReadOnlySpan<byte> json, string file)
    {
        bool any = false;
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            while (reader.Read())
            {
                any = true;
                // Escapes such as a lone "\ud800" pass the tokenizer but cannot be decoded.
                if (reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String && reader.ValueIsEscaped)
                    _ = reader.GetString();
            }
        }
        catch (JsonException ex)
        {
            throw new SafetensorsFormatException(SafetensorsErrorIds.InvalidJson, file, "the header is not valid JSON: " + ex.Message, inner: ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new SafetensorsFormatException(SafetensorsErrorIds.InvalidJson, file, "the header holds an invalid JSON string escape: " + ex.Message, inner: ex);
        }
        if (!any)
            throw new SafetensorsFormatException(SafetensorsErrorIds.InvalidJson, file, "the header is empty or blank; it must be a JSON object.");
    }

    private static Dictionary<string, string>? ReadMetadata(ref Utf8JsonReader reader, string file)
    {
        // serde's Option<HashMap> in the reference reads null as "no metadata"; accept the same.
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(SafetensorsErrorIds.InvalidMetadata, file,
                $"'{MetadataKey}' is {Describe(reader.TokenType)}; it must be an object whose values are strings.");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            if (map.ContainsKey(key))
                throw new SafetensorsFormatException(SafetensorsErrorIds.DuplicateKey, file, $"metadata key '{key}' appears twice in '{MetadataKey}'.");
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw new SafetensorsFormatException(SafetensorsErrorIds.InvalidMetadata, file,
                    $"metadata value of '{key}' is {Describe(reader.TokenType)}; every '{MetadataKey}' value must be a string.");
            map.Add(key, reader.GetString()!);
        }
        return map;
    }

    private static SafetensorsEntry ReadEntry(ref Utf8JsonReader reader, string name, string file)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Invalid(file, name, $"tensor '{name}': the entry is {Describe(reader.TokenType)}, not an object with dtype, shape and data_offsets.");

        SafetensorsDtype? dtype = null;
        List<long>? shape = null;
        long begin = 0, end = 0;
        bool hasOffsets = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string field = reader.GetString()!;
            reader.Read();
            switch (field)
            {
                case "dtype":
                    if (dtype is not null)
                        throw Duplicate(file, name, field);
                    if (reader.TokenType != JsonTokenType.String)
                        throw Invalid(file, name, $"tensor '{name}': 'dtype' is {Describe(reader.TokenType)}, not a string.");
                    string dtypeName = reader.GetString()!;
                    if (!SafetensorsDtypes.TryParse(dtypeName, out var parsed))
                        throw new SafetensorsFormatException(SafetensorsErrorIds.UnknownDtype, file,
                            $"tensor '{name}': unknown dtype '{Shorten(dtypeName)}' (known: {string.Join(", ", SafetensorsDtypes.All.Select(d => d.GetName()))}).", name);
                    dtype = parsed;
                    break;

                case "shape":
                    if (shape is not null)
                        throw Duplicate(file, name, field);
                    if (reader.TokenType != JsonTokenType.StartArray)
                        throw Invalid(file, name, $"tensor '{name}': 'shape' is {Describe(reader.TokenType)}, not an array of integers.");
                    shape = new List<long>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (shape.Count == MaxRank)
                            throw Invalid(file, name, $"tensor '{name}': 'shape' has more than {MaxRank} dimensions.");
                        shape.Add(ReadNonNegative(ref reader, file, name, "dimension"));
                    }
                    break;

                case "data_offsets":
                    if (hasOffsets)
                        throw Duplicate(file, name, field);
                    if (reader.TokenType != JsonTokenType.StartArray)
                        throw Invalid(file, name, $"tensor '{name}': 'data_offsets' is {Describe(reader.TokenType)}, not [begin, end].");
                    int count = 0;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (count == 2)
                            throw Invalid(file, name, $"tensor '{name}': 'data_offsets' has more than two numbers; it must be [begin, end].");
                        long value = ReadNonNegative(ref reader, file, name, "offset");
                        if (count == 0) begin = value; else end = value;
                        count++;
                    }
                    if (count != 2)
                        throw Invalid(file, name, $"tensor '{name}': 'data_offsets' has {count} number(s); it must be [begin, end].");
                    hasOffsets = true;
                    break;

                default:
                    throw Invalid(file, name, $"tensor '{name}': unexpected field '{Shorten(field)}' (an entry holds exactly dtype, shape and data_offsets).");
            }
        }

        if (dtype is null)
            throw Invalid(file, name, $"tensor '{name}': the entry has no 'dtype'.");
        if (shape is null)
            throw Invalid(file, name, $"tensor '{name}': the entry has no 'shape'.");
        if (!hasOffsets)
            throw Invalid(file, name, $"tensor '{name}': the entry has no 'data_offsets'.");
        if (begin > end)
            throw Invalid(file, name, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin.");

        var dims = shape.ToArray();
        long expected = ExpectedByteLength(dtype.Value, dims, file, name);
        if (expected != end - begin)
            throw new SafetensorsFormatException(SafetensorsErrorIds.ShapeMismatch, file,
                $"tensor '{name}': shape [{string.Join(", ", dims)}] of {dtype.Value.GetName()} needs {expected} bytes but data_offsets [{begin}, {end}] span {end - begin}.", name);
        return new SafetensorsEntry(name, dtype.Value, dims, begin, end);
    }

    /// <summary>Bytes a tensor of this dtype and shape occupies; checked arithmetic, as the reference does.</summary>
    private static long ExpectedByteLength(SafetensorsDtype dtype, long[] dims, string file, string name)
    {
        try
        {
            long elements = 1;
            foreach (long d in dims)
                elements = checked(elements * d);
            long bits = checked(elements * dtype.GetBitSize());
            if (bits % 8 != 0)
                throw new SafetensorsFormatException(SafetensorsErrorIds.ShapeMismatch, file,
                    $"tensor '{name}': {elements} elements of {dtype.GetName()} are not a whole number of bytes.", name);
            return bits / 8;
        }
        catch (OverflowException)
        {
            throw new SafetensorsFormatException(SafetensorsErrorIds.ShapeMismatch, file,
                $"tensor '{name}': shape [{string.Join(", ", dims)}] of {dtype.GetName()} overflows a 64-bit byte count.", name);
        }
    }

    private static long ReadNonNegative(ref Utf8JsonReader reader, string file, string name, string what)
    {
        if (reader.TokenType != JsonTokenType.Number)
            throw Invalid(file, name, $"tensor '{name}': a {what} is {Describe(reader.TokenType)}, not a non-negative integer.");
        if (reader.TryGetUInt64(out ulong value))
        {
            if (value > long.MaxValue)
                throw Invalid(file, name, $"tensor '{name}': {what} {value} is larger than {long.MaxValue}.");
            return (long)value;
        }
        string text = Shorten(Encoding.UTF8.GetString(reader.ValueSpan));
        if (reader.TryGetInt64(out long negative) && negative < 0)
            throw Invalid(file, name, $"tensor '{name}': negative {what} {text}.");
        throw Invalid(file, name, $"tensor '{name}': {what} {text} is not a non-negative integer.");
    }

    /// <summary>Sorted by (begin, end), the spans must tile [0, dataLength) exactly, as in the reference implementation.</summary>
    private static void CheckLayout(List<SafetensorsEntry> entries, long dataLength, string file)
    {
        entries.Sort(static (a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0) c = a.End.CompareTo(b.End);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        SafetensorsEntry? brokenAt = null;
        SafetensorsEntry? previous = null;
        SafetensorsEntry? outOfBounds = null;
        long expected = 0;
        foreach (var e in entries)
        {
            if (brokenAt is null && e.Begin != expected)
                brokenAt = e;
            if (brokenAt is null)
                previous = e;
            if (outOfBounds is null && e.End > dataLength)
                outOfBounds = e;
            if (brokenAt is null)
                expected = e.End;
        }

        if (outOfBounds is not null)
        {
            if (brokenAt is null)
            {
                // The spans are self-consistent; the file is simply shorter than what they describe.
                throw new SafetensorsFormatException(SafetensorsErrorIds.Truncated, file,
                    $"the header declares {expected:N0} bytes of tensor data but the file holds {dataLength:N0}: truncated inside tensor '{outOfBounds.Name}' [{outOfBounds.Begin}, {outOfBounds.End}).",
                    outOfBounds.Name);
            }
            throw new SafetensorsFormatException(SafetensorsErrorIds.OffsetsOutOfBounds, file,
                $"tensor '{outOfBounds.Name}': data_offsets [{outOfBounds.Begin}, {outOfBounds.End}] reach past the {dataLength:N0}-byte data region.",
                outOfBounds.Name);
        }

        if (brokenAt is not null)
        {
            string after = previous is null ? "the start of the data region" : $"tensor '{previous.Name}' ending at {previous.End}";
            string what = brokenAt.Begin > expected
                ? $"leaves a gap of {brokenAt.Begin - expected} bytes after {after}"
                : $"overlaps {after}";
            throw new SafetensorsFormatException(SafetensorsErrorIds.OffsetsNotContiguous, file,
                $"tensor '{brokenAt.Name}' at data_offsets [{brokenAt.Begin}, {brokenAt.End}] {what}; tensor spans must tile the data region exactly.",
                brokenAt.Name);
        }

        if (expected != dataLength)
        {
            throw new SafetensorsFormatException(SafetensorsErrorIds.OffsetsNotContiguous, file,
                $"the tensors cover {expected:N0} bytes but the data region holds {dataLength:N0}: {dataLength - expected:N0} trailing bytes belong to no tensor.",
                previous?.Name);
        }
    }

    private static SafetensorsFormatException Invalid(string file, string name, string message) =>
        new(SafetensorsErrorIds.InvalidEntry, file, message, name);

    private static SafetensorsFormatException Duplicate(string file, string name, string field) =>
        new(SafetensorsErrorIds.DuplicateKey, file, $"tensor '{name}': field '{field}' appears twice.", name);

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            if (System.Buffers.OperationStatus.Done != Rune.DecodeFromUtf8(bytes[i..], out _, out int consumed))
                return i;
            i += consumed;
        }
        return i;
    }
}
