using System.Security.Cryptography;
using System.Text;

namespace KohyaPS.Tests.Interop;

/// <summary>
/// Builds kohya LoRA files the way sd-scripts' Python stack lays them out, straight from the documented facts and
/// without engine code: compact JSON header with <c>__metadata__</c> first, tensors ordered by descending dtype then
/// name, header space-padded to a multiple of 8, and the two <c>sshs_*</c> hashes computed over the image made of the
/// <c>ss_*</c> metadata only (train_util.precalculate_safetensors_hashes).
/// </summary>
internal sealed class LoraFileBuilder
{
    // Python safetensors' Dtype enum order (ascending); data is laid out by descending position.
    private static readonly string[] DtypeOrder = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    private readonly List<(string Name, string Dtype, long[] Shape, byte[] Data)> _tensors = new();
    private readonly List<KeyValuePair<string, string>> _metadata = new();

    public LoraFileBuilder Meta(string key, string value)
    {
        _metadata.RemoveAll(kv => kv.Key == key);
        _metadata.Add(new(key, value));
        return this;
    }

    public LoraFileBuilder Tensor(string name, string dtype, long[] shape, byte[] data)
    {
        _tensors.Add((name, dtype, shape, data));
        return this;
    }

    public LoraFileBuilder Remove(string name)
    {
        _tensors.RemoveAll(t => t.Name == name);
        return this;
    }

    /// <summary>A Linear module: down [rank, inDim], up [outDim, rank], scalar alpha, weights in <paramref name="dtype"/>.</summary>
    public LoraFileBuilder Linear(string module, int rank, int inDim, int outDim, float alpha, string dtype = "F16", int seed = 1)
    {
        Tensor(module + ".lora_down.weight", dtype, [rank, inDim], Values(dtype, rank * inDim, seed));
        Tensor(module + ".lora_up.weight", dtype, [outDim, rank], Values(dtype, outDim * rank, seed + 1));
        Tensor(module + ".alpha", dtype, [], Encode(dtype, alpha));
        return this;
    }

    /// <summary>The file bytes; with <paramref name="hashes"/>, sshs_model_hash and sshs_legacy_hash as sd-scripts computes them.</summary>
    public byte[] Build(bool hashes = true)
    {
        var meta = new List<KeyValuePair<string, string>>(_metadata);
        if (hashes)
        {
            byte[] image = Image(_metadata.Where(kv => kv.Key.StartsWith("ss_", StringComparison.Ordinal)).ToList());
            meta.RemoveAll(kv => kv.Key.StartsWith("sshs_", StringComparison.Ordinal));
            meta.Add(new("sshs_model_hash", ModelHash(image)));
            meta.Add(new("sshs_legacy_hash", LegacyHash(image)));
        }
        return Image(meta);
    }

    /// <summary>addnet_hash_safetensors: SHA-256 of everything after 8 + N.</summary>
    public static string ModelHash(byte[] file)
    {
        long n = BitConverter.ToInt64(file, 0);
        return Convert.ToHexStringLower(SHA256.HashData(file.AsSpan((int)(8 + n))));
    }

    /// <summary>addnet_hash_legacy: SHA-256 of bytes [0x100000, 0x110000) (fewer when the image is shorter), first 8 hex digits.</summary>
    public static string LegacyHash(byte[] file)
    {
        int start = Math.Min(file.Length, 0x100000);
        int end = Math.Min(file.Length, 0x110000);
        return Convert.ToHexStringLower(SHA256.HashData(file.AsSpan(start, end - start)))[..8];
    }

    private byte[] Image(List<KeyValuePair<string, string>> metadata)
    {
        var ordered = _tensors.OrderByDescending(t => Array.IndexOf(DtypeOrder, t.Dtype)).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        var json = new StringBuilder("{\"__metadata__\":{");
        json.AppendJoin(",", metadata.Select(kv => Quote(kv.Key) + ":" + Quote(kv.Value)));
        json.Append('}');
        long offset = 0;
        foreach (var t in ordered)
        {
            json.Append(',').Append(Quote(t.Name)).Append(":{\"dtype\":\"").Append(t.Dtype).Append("\",\"shape\":[")
                .AppendJoin(",", t.Shape).Append("],\"data_offsets\":[").Append(offset).Append(',').Append(offset + t.Data.Length).Append("]}");
            offset += t.Data.Length;
        }
        json.Append('}');
        byte[] header = Encoding.UTF8.GetBytes(json.ToString());
        int padded = (header.Length + 7) / 8 * 8;
        var file = new byte[8 + padded + offset];
        BitConverter.GetBytes((long)padded).CopyTo(file, 0);
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        long at = 8 + padded;
        foreach (var t in ordered)
        {
            t.Data.CopyTo(file, at);
            at += t.Data.Length;
        }
        return file;
    }

    /// <summary>serde_json string escaping: \" \\ and control characters; everything else raw UTF-8.</summary>
    private static string Quote(string s)
    {
        var b = new StringBuilder("\"");
        foreach (char c in s)
        {
            b.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return b.Append('"').ToString();
    }

    public static byte[] Values(string dtype, int count, int seed)
    {
        var rng = new Random(seed);
        var bytes = new List<byte>();
        for (int i = 0; i < count; i++)
            bytes.AddRange(Encode(dtype, (float)(rng.NextDouble() - 0.5) * 0.1f));
        return bytes.ToArray();
    }

    public static byte[] Encode(string dtype, float value) => dtype switch
    {
        "F32" => BitConverter.GetBytes(value),
        "F16" => BitConverter.GetBytes((Half)value),
        "BF16" => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(value) >> 16)),
        "F64" => BitConverter.GetBytes((double)value),
        "I64" => BitConverter.GetBytes((long)value),
        _ => throw new ArgumentException(dtype),
    };
}

/// <summary>A fresh temporary folder per test class instance.</summary>
public abstract class InteropTempFolder : IDisposable
{
    protected InteropTempFolder() => Directory.CreateDirectory(Root);

    protected string Root { get; } = Path.Combine(Path.GetTempPath(), "kohyaps-interop-" + Guid.NewGuid().ToString("N"));

    protected string PathFor(params string[] parts) => Path.Combine([Root, .. parts]);

    protected string Write(string relative, byte[] bytes)
    {
        string path = PathFor(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    protected string WriteText(string relative, string text) => Write(relative, Encoding.UTF8.GetBytes(text));

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing && Directory.Exists(Root))
            Directory.Delete(Root, recursive: true);
    }
}
