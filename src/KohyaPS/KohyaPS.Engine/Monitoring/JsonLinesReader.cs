using System.Globalization;
using System.Text;
using System.Text.Json;

namespace KohyaPS.Engine.Monitoring;

/// <summary>
/// Reads the complete lines of a JSON-lines log that may still be growing: a last line without its newline (being
/// written, or torn by a kill) is not returned. Blank lines are skipped; a complete line that is not JSON throws.
/// </summary>
public static class JsonLinesReader
{
    /// <summary>Complete lines from byte <paramref name="offset"/> on; <paramref name="next"/> is where the next read starts.</summary>
    public static IReadOnlyList<string> ReadComplete(string path, long offset, out long next)
    {
        next = offset;
        if (!File.Exists(path))
            return Array.Empty<string>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length <= offset)
        {
            next = Math.Min(offset, stream.Length);
            return Array.Empty<string>();
        }
        stream.Seek(offset, SeekOrigin.Begin);
        var bytes = new byte[stream.Length - offset];
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        int end = Array.LastIndexOf(bytes, (byte)'\n', read - 1, read) + 1;
        next = offset + end;
        return Encoding.UTF8.GetString(bytes, 0, end).Split('\n').Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
    }

    public static IReadOnlyList<string> ReadComplete(string path) => ReadComplete(path, 0, out _);

    /// <summary>Parses one line; <paramref name="source"/> and <paramref name="lineNumber"/> name it in the error.</summary>
    public static JsonElement Parse(string line, string source, int lineNumber)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new KohyaException("TrainingLogInvalid", KohyaErrorKind.InvalidData,
                $"'{source}' line {lineNumber} is not valid JSON: {ex.Message}", ex, source)
            {
                RecommendedAction = "The log was edited or damaged; move the bad line aside or restore the file.",
            };
        }
    }

    /// <summary>A number written by <see cref="JsonLinesAppender.WriteDouble"/> (non-finite values are strings).</summary>
    public static double Double(JsonElement e, string name, double missing = double.NaN)
    {
        if (!e.TryGetProperty(name, out var v))
            return missing;
        return v.ValueKind switch
        {
            JsonValueKind.Number => v.GetDouble(),
            JsonValueKind.String => double.Parse(v.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture),
            _ => missing,
        };
    }

    public static long Int64(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

    public static string String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";

    public static DateTime Time(JsonElement e, string name) =>
        DateTime.TryParse(String(e, name), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t.ToUniversalTime() : default;
}
