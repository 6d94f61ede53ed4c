using System.Globalization;
using System.Text;

namespace KohyaPS.Engine.Unattended;

/// <summary>One line of <c>&lt;run&gt;/logs/kohyaps.log</c>.</summary>
public sealed record RunLogEntry
{
    public DateTime TimeUtc { get; init; }

    /// <summary>start, resume (a segment begins), stop (it ended: completed, already complete or stopped) or failure.</summary>
    public string Event { get; init; } = "";

    /// <summary>Started, Completed, AlreadyComplete, Stopped, or the error id of a failure.</summary>
    public string Outcome { get; init; } = "";

    /// <summary>The exit code an unattended run reports for this outcome; null on start/resume lines.</summary>
    public int? ExitCode { get; init; }

    public int ProcessId { get; init; }
    public string Host { get; init; } = "";
    public string User { get; init; } = "";

    /// <summary>The command line that asked for the work (as typed, or the scheduled task's).</summary>
    public string Command { get; init; } = "";
}

/// <summary>
/// The run's append-only journal: one tab-separated line per start, resume, stop or failure —
/// <c>time event outcome exit pid host user command</c> (exit is "-" on start and resume lines). A writer
/// holds the file exclusively (FileShare.None: a flock on Unix, a sharing lock on Windows) for the moment
/// it seeks to the end and writes, so processes sharing a run folder never overwrite or interleave lines
/// (.NET's FileMode.Append writes at a remembered offset, not with O_APPEND); the line is flushed to disk
/// before the call returns.
/// </summary>
public static class RunLog
{
    public const string FileName = "kohyaps.log";

    public static string PathFor(string runDirectory) => Path.Combine(runDirectory, "logs", FileName);

    /// <summary>Appends <paramref name="entry"/>; creates logs/ when the run folder exists, does nothing when it does not.</summary>
    public static void Append(string runDirectory, RunLogEntry entry)
    {
        if (!Directory.Exists(runDirectory))
            return;
        string path = PathFor(runDirectory);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        byte[] line = Encoding.UTF8.GetBytes(Format(entry) + "\n");
        using var stream = OpenWithRetry(() => new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None));
        stream.Seek(0, SeekOrigin.End);
        stream.Write(line, 0, line.Length);
        stream.Flush(flushToDisk: true);
    }

    public static string Format(RunLogEntry entry) => string.Join('\t',
        entry.TimeUtc.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
        Clean(entry.Event),
        Clean(entry.Outcome),
        entry.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-",
        entry.ProcessId.ToString(CultureInfo.InvariantCulture),
        Clean(entry.Host),
        Clean(entry.User),
        Clean(entry.Command));

    /// <summary>Parses a line written by <see cref="Format"/>; null for anything else (a torn or foreign line).</summary>
    public static RunLogEntry? Parse(string line)
    {
        var parts = line.Split('\t', 8);
        if (parts.Length != 8
            || !DateTime.TryParse(parts[0], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            || !int.TryParse(parts[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid))
            return null;
        int? exit = parts[3] == "-" ? null : int.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out int e) ? e : null;
        return new RunLogEntry
        {
            TimeUtc = time, Event = parts[1], Outcome = parts[2], ExitCode = exit, ProcessId = pid,
            Host = parts[5], User = parts[6], Command = parts[7],
        };
    }

    /// <summary>Every readable line of the run's log, oldest first (none when there is no log).</summary>
    public static IReadOnlyList<RunLogEntry> Read(string runDirectory)
    {
        string path = PathFor(runDirectory);
        if (!File.Exists(path))
            return Array.Empty<RunLogEntry>();
        using var stream = OpenWithRetry(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var entries = new List<RunLogEntry>();
        while (reader.ReadLine() is { } line)
            if (Parse(line) is { } entry)
                entries.Add(entry);
        return entries;
    }

    /// <summary>Another process may hold the file for the moment of its append: retry for up to ~5 s.</summary>
    private static FileStream OpenWithRetry(Func<FileStream> open)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return open();
            }
            catch (IOException ex) when (attempt < 100 && ex is not FileNotFoundException and not DirectoryNotFoundException)
            {
                Thread.Sleep(Math.Min(50, 1 + attempt));
            }
        }
    }

    /// <summary>Tabs and line breaks would split a field or a line: they become spaces.</summary>
    private static string Clean(string value) =>
        value.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ');
}
