using System.Runtime.InteropServices;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// The file-system moves that make a checkpoint complete-or-absent: files flushed to the device
/// (FlushFileBuffers on Windows, fsync on Linux), directory entries flushed on Linux, and a rename into
/// place that retries while Windows reports a sharing violation (antivirus, indexer) — never a copy.
/// </summary>
public static partial class DurableFiles
{
    /// <summary>Creates <paramref name="path"/>, lets <paramref name="write"/> fill it, and flushes it to disk.</summary>
    public static void Write(string path, Action<FileStream> write)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        write(stream);
        stream.Flush(flushToDisk: true);
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>Flushes a directory's entries (Linux/macOS); a no-op on Windows, where NTFS journals metadata.</summary>
    public static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
            throw new IOException($"Could not open directory '{directory}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(fd) != 0)
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Renames a directory into place, retrying briefly on transient sharing violations.</summary>
    public static void RenameDirectory(string source, string destination, int attempts = 10)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Move(source, destination);
                return;
            }
            catch (Exception ex) when (attempt < attempts && (ex is UnauthorizedAccessException || (ex is IOException && !Directory.Exists(destination))))
            {
                Thread.Sleep(50 * attempt);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
