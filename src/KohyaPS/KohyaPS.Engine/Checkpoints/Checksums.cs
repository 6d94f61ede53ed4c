using System.Security.Cryptography;
using System.Text;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>One line of a checksum list: a file inside the checkpoint and its SHA-256.</summary>
public sealed record ChecksumEntry(string FileName, string Sha256);

/// <summary>The result of checking one file against its listed hash.</summary>
public sealed record ChecksumResult(string FileName, bool Exists, bool Matches, string? Actual);

/// <summary>
/// <c>checksums.sha256</c> in the format <c>sha256sum -c</c> reads ("&lt;64 hex&gt;  &lt;name&gt;"), written last.
/// Names are plain file names inside the checkpoint: a name with a separator, "..", or a rooted path is
/// rejected, so verification never reads outside the folder.
/// </summary>
public static class Checksums
{
    public const string FileName = "checksums.sha256";

    public static string Format(IEnumerable<ChecksumEntry> entries)
    {
        var text = new StringBuilder();
        foreach (var e in entries.OrderBy(e => e.FileName, StringComparer.Ordinal))
            text.Append(e.Sha256).Append("  ").Append(e.FileName).Append('\n');
        return text.ToString();
    }

    public static IReadOnlyList<ChecksumEntry> Parse(string text, string source)
    {
        var entries = new List<ChecksumEntry>();
        int lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0)
                continue;
            if (line.Length < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*') || !IsHex(line.AsSpan(0, 64)))
                throw Invalid(source, $"line {lineNumber} is not '<sha256>  <file>'");
            string name = line[66..];
            if (!IsPlainFileName(name))
                throw Invalid(source, $"line {lineNumber} names '{name}', which is not a file inside the checkpoint");
            if (entries.Any(e => e.FileName == name))
                throw Invalid(source, $"line {lineNumber} lists '{name}' twice");
            entries.Add(new ChecksumEntry(name, line[..64].ToLowerInvariant()));
        }
        return entries;
    }

    /// <summary>SHA-256 of a file, streamed.</summary>
    public static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>SHA-256 of a file, streamed in 1 MiB reads, reporting each read and honouring cancellation.</summary>
    public static string HashFile(string path, Action<long>? onBytes, CancellationToken cancellation)
    {
        if (onBytes is null && !cancellation.CanBeCanceled)
            return HashFile(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            cancellation.ThrowIfCancellationRequested();
            hash.AppendData(buffer, 0, read);
            onBytes?.Invoke(read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Hashes every listed file in parallel (one file per core, each streamed) and compares.</summary>
    public static IReadOnlyList<ChecksumResult> Verify(string directory, IReadOnlyList<ChecksumEntry> entries,
        CancellationToken cancellation = default, Action<long>? onBytes = null)
    {
        var results = new ChecksumResult[entries.Count];
        // Largest first, so the big model file does not start last and leave the other cores idle.
        var order = Enumerable.Range(0, entries.Count)
            .OrderByDescending(i => SizeOf(Path.Combine(directory, entries[i].FileName))).ToArray();
        Parallel.ForEach(order, new ParallelOptions { CancellationToken = cancellation }, i =>
        {
            var entry = entries[i];
            string path = Path.Combine(directory, entry.FileName);
            if (!File.Exists(path))
            {
                results[i] = new ChecksumResult(entry.FileName, false, false, null);
                return;
            }
            string actual = HashFile(path, onBytes, cancellation);
            results[i] = new ChecksumResult(entry.FileName, true, actual == entry.Sha256, actual);
        });
        return results;
    }

    private static long SizeOf(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    public static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." && !Path.IsPathRooted(name)
        && name.IndexOfAny(new[] { '/', '\\', '\0' }) < 0 && !name.Contains(':', StringComparison.Ordinal);

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
            if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }

    private static KohyaException Invalid(string source, string detail) =>
        new("ChecksumListInvalid", KohyaErrorKind.InvalidData, $"Checksum list '{source}' is invalid: {detail}.", target: source);
}
