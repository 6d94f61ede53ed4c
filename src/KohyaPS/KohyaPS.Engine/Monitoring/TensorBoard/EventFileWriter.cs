using System.Globalization;

namespace KohyaPS.Engine.Monitoring.TensorBoard;

/// <summary>
/// One TensorBoard event file, <c>events.out.tfevents.&lt;unix seconds&gt;.&lt;host&gt;</c>, as TensorFlow names them:
/// TensorBoard reads the files of a folder in name order, so every training segment gets a new file whose name
/// sorts after the older ones. The first event declares the file version; every event is flushed as written,
/// so a killed process leaves at most one torn record at the end, which readers stop at.
/// </summary>
public sealed class EventFileWriter : IDisposable
{
    public const string Prefix = "events.out.tfevents.";
    private readonly FileStream _stream;

    private EventFileWriter(FileStream stream, string path)
    {
        _stream = stream;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Creates the file (a later second when the name is taken) and writes its file_version event.</summary>
    public static EventFileWriter Create(string logDirectory, DateTime utcNow, string host)
    {
        Directory.CreateDirectory(logDirectory);
        long seconds = (long)Math.Floor(TensorBoardEvent.WallTimeOf(utcNow));
        long newest = Directory.EnumerateFiles(logDirectory, Prefix + "*").Select(SecondsOf).DefaultIfEmpty(0).Max();
        seconds = Math.Max(seconds, newest + (newest > 0 ? 1 : 0));
        while (true)
        {
            string path = System.IO.Path.Combine(logDirectory, NameFor(seconds, host));
            try
            {
                var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                var writer = new EventFileWriter(stream, path);
                writer.Write(new TensorBoardEvent { WallTime = TensorBoardEvent.WallTimeOf(utcNow), FileVersion = TensorBoardEvent.FileVersion2 });
                return writer;
            }
            catch (IOException) when (File.Exists(path))
            {
                seconds++;
            }
        }
    }

    public static string NameFor(long unixSeconds, string host) =>
        Prefix + unixSeconds.ToString("D10", CultureInfo.InvariantCulture) + "." + host;

    /// <summary>The unix seconds in an event file's name, or 0 when it has none.</summary>
    public static long SecondsOf(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            return 0;
        string rest = name[Prefix.Length..];
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        return long.TryParse(dot < 0 ? rest : rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : 0;
    }

    public void Write(TensorBoardEvent e)
    {
        _stream.Write(TfRecord.Frame(e.Encode()));
        _stream.Flush();
    }

    public void Dispose()
    {
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
    }
}
