using System.Globalization;
using System.Text.Json;

namespace KohyaPS.Engine.Monitoring;

/// <summary>
/// Appends one JSON object per line to a log file, flushing each line as written, so a killed process loses at most
/// the line it was writing. Opening cuts off a torn last line (one without its newline) left by such a kill, so the
/// next line starts clean. The file stays readable by others while it is written.
/// </summary>
public sealed class JsonLinesAppender : IDisposable
{
    private FileStream? _stream;

    public JsonLinesAppender(string path)
    {
        Path = path;
    }

    public string Path { get; }

    public bool IsOpen => _stream is not null;

    public void Open()
    {
        if (_stream is not null)
            return;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        TruncateTornLine(_stream);
        _stream.Seek(0, SeekOrigin.End);
    }

    /// <summary>Writes one object: <paramref name="properties"/> writes its members. Ignored while closed.</summary>
    public void Append(Action<Utf8JsonWriter> properties)
    {
        if (_stream is null)
            return;
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            properties(json);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        _stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        _stream.Flush();
    }

    public void Dispose()
    {
        _stream?.Flush(flushToDisk: true);
        _stream?.Dispose();
        _stream = null;
    }

    /// <summary>JSON has no NaN: non-finite values are written as strings ("NaN", "Infinity").</summary>
    public static void WriteDouble(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
            json.WriteNumber(name, value);
        else
            json.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>UTC, ISO 8601 round-trip form.</summary>
    public static void WriteTime(Utf8JsonWriter json, string name, DateTime utc) =>
        json.WriteString(name, utc.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));

    /// <summary>A kill during a write can leave a last line without its newline: cut it off.</summary>
    private static void TruncateTornLine(FileStream stream)
    {
        long end = stream.Length;
        var buffer = new byte[4096];
        while (end > 0)
        {
            int count = (int)Math.Min(buffer.Length, end);
            stream.Seek(end - count, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, count);
            int newline = Array.LastIndexOf(buffer, (byte)'\n', count - 1, count);
            if (newline >= 0)
            {
                stream.SetLength(end - count + newline + 1);
                return;
            }
            end -= count;
        }
        stream.SetLength(0);
    }
}
