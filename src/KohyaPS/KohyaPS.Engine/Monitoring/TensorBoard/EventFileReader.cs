namespace KohyaPS.Engine.Monitoring.TensorBoard;

/// <summary>The events of one file, and where a torn last record began (null when the file ends cleanly).</summary>
public sealed record EventFileContents(string Path, IReadOnlyList<TensorBoardEvent> Events, long? TornAt);

/// <summary>Reads event files back, checking both CRCs of every record; a torn last record ends the file.</summary>
public static class EventFileReader
{
    public static EventFileContents Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long? torn = null;
        var events = TfRecord.Read(stream, at => torn = at, path).Select(data => TensorBoardEvent.Decode(data)).ToList();
        return new EventFileContents(path, events, torn);
    }

    /// <summary>Every event file of a folder, in the order TensorBoard reads them (by name).</summary>
    public static IReadOnlyList<EventFileContents> ReadFolder(string logDirectory) =>
        Directory.Exists(logDirectory)
            ? Directory.EnumerateFiles(logDirectory, EventFileWriter.Prefix + "*").Order(StringComparer.Ordinal).Select(Read).ToList()
            : Array.Empty<EventFileContents>();
}
