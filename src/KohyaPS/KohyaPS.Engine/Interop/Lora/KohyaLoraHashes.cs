using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using KohyaPS.Engine.Checkpoints.Safetensors;

namespace KohyaPS.Engine.Interop;

/// <summary>
/// The two hashes sd-scripts stores in a LoRA's metadata (<c>train_util.precalculate_safetensors_hashes</c>, made for
/// sd-webui-additional-networks). Both are computed over an in-memory safetensors image that Python's safetensors
/// library builds from the same tensors and only the <c>ss_*</c> metadata entries:
/// <list type="bullet">
/// <item><c>sshs_model_hash</c>: SHA-256 (hex) of every byte after the header. The data bytes do not depend on the
/// metadata, so this is the SHA-256 of the file's own data region.</item>
/// <item><c>sshs_legacy_hash</c>: the first 8 hex digits of the SHA-256 of bytes [0x100000, 0x110000) of that image.
/// The header comes first, so the window depends on the length Python's writer gives the header: compact
/// serde_json, <c>__metadata__</c> first, then the tensor entries, space-padded to a multiple of 8 (safetensors ≥ 0.3.1;
/// older versions did not pad, so their files may not match). Only the length matters while the header is shorter
/// than 1 MiB (its metadata key order is not fixed); with a longer header the legacy hash cannot be recomputed.</item>
/// </list>
/// </summary>
public static class KohyaLoraHashes
{
    public const string ModelHashKey = "sshs_model_hash";
    public const string LegacyHashKey = "sshs_legacy_hash";

    /// <summary>Start of the legacy hash window in the Python image.</summary>
    public const long LegacyWindowStart = 0x100000;

    /// <summary>Length of the legacy hash window.</summary>
    public const int LegacyWindowLength = 0x10000;

    /// <summary>The kohya metadata entries that go into the hashed image (the <c>ss_</c> ones).</summary>
    public static bool IsHashedMetadataKey(string key) => key.StartsWith("ss_", StringComparison.Ordinal);

    /// <summary>
    /// The header length (after padding) that Python's safetensors writer gives a file with these tensors and the
    /// <c>ss_*</c> entries of <paramref name="metadata"/>.
    /// </summary>
    internal static long PythonHeaderLength(IEnumerable<KeyValuePair<string, string>> metadata, IEnumerable<SafetensorsEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(entries);
        return PythonHeaderLength(metadata, entries.Select(e => (e.Name, e.Dtype, (IReadOnlyList<long>)e.Shape, e.Begin, e.End)));
    }

    internal static long PythonHeaderLength(IEnumerable<KeyValuePair<string, string>> metadata,
        IEnumerable<(string Name, SafetensorsDtype Dtype, IReadOnlyList<long> Shape, long Begin, long End)> entries)
    {
        // {"__metadata__":{"k":"v",...},"name":{"dtype":"F16","shape":[4,8],"data_offsets":[0,64]},...}
        long length = 2; // { }
        int members = 1;
        length += JsonStringLength("__metadata__") + 1 + 2; // "__metadata__":{}
        int pairs = 0;
        foreach (var (key, value) in metadata)
        {
            if (!IsHashedMetadataKey(key))
                continue;
            length += JsonStringLength(key) + 1 + JsonStringLength(value);
            pairs++;
        }
        length += Math.Max(0, pairs - 1); // commas between pairs
        foreach (var (name, dtype, shape, begin, end) in entries)
        {
            members++;
            length += JsonStringLength(name) + 1;
            length += "{\"dtype\":".Length + JsonStringLength(dtype.GetName());
            length += ",\"shape\":[".Length + shape.Sum(d => (long)Digits(d)) + Math.Max(0, shape.Count - 1) + 1;
            length += ",\"data_offsets\":[".Length + Digits(begin) + 1 + Digits(end) + 2; // "],}" → ']' '}'
        }
        length += members - 1; // commas between members
        return (length + 7) / 8 * 8;
    }

    /// <summary>
    /// Where the legacy window starts inside the data region, given the Python header length; null when the window
    /// would include header bytes (header of 1 MiB or more), which cannot be reproduced.
    /// </summary>
    internal static long? LegacyWindowDataOffset(long pythonHeaderLength)
    {
        long offset = LegacyWindowStart - SafetensorsHeader.LengthPrefixSize - pythonHeaderLength;
        return offset >= 0 ? offset : null;
    }

    /// <summary>The legacy hash of the window bytes (possibly fewer than 64 KiB, or none, when the data is short).</summary>
    internal static string LegacyHashOf(ReadOnlySpan<byte> window) => Convert.ToHexStringLower(SHA256.HashData(window))[..8];

    /// <summary>
    /// Recomputes <c>sshs_legacy_hash</c> for an open file from its data and its <c>ss_*</c> metadata, reading at most
    /// 64 KiB; null when it cannot be reproduced (see <see cref="LegacyWindowDataOffset"/>).
    /// </summary>
    public static string? ComputeLegacyHash(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        long? offset = LegacyWindowDataOffset(PythonHeaderLength(file.Metadata, file.Entries));
        if (offset is not { } start)
            return null;
        var header = file.Header;
        long available = Math.Max(0, Math.Min(LegacyWindowLength, header.DataLength - start));
        var window = new byte[available];
        if (available > 0)
        {
            using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            int filled = 0;
            while (filled < window.Length)
            {
                int got = RandomAccess.Read(stream.SafeFileHandle, window.AsSpan(filled), header.DataStart + start + filled);
                if (got == 0)
                    throw new SafetensorsFormatException(SafetensorsErrorIds.Truncated, file.Path,
                        "the file ended before the data its header declares (it changed after it was opened).");
                filled += got;
            }
        }
        return LegacyHashOf(window);
    }

    /// <summary>Length of a string as serde_json writes it: quotes, two-character escapes for " \ \b \f \n \r \t, \u00XX for other control characters, UTF-8 otherwise.</summary>
    internal static long JsonStringLength(string s)
    {
        long n = 2;
        foreach (var rune in s.EnumerateRunes())
        {
            int v = rune.Value;
            n += v switch
            {
                '"' or '\\' or '\b' or '\f' or '\n' or '\r' or '\t' => 2,
                < 0x20 => 6,
                _ => rune.Utf8SequenceLength,
            };
        }
        return n;
    }

    private static int Digits(long value) => value.ToString(CultureInfo.InvariantCulture).Length;
}
