using KohyaPS.Engine.Checkpoints.Safetensors;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// Writes a snapshot as a checkpoint folder that is complete or absent: every file is written into a
/// temporary folder and flushed to disk, the checksum list is written last, the folder is flushed, renamed
/// into place, and its parent flushed. A failure removes the temporary folder and leaves every earlier
/// checkpoint as it was.
/// </summary>
public sealed class CheckpointWriter
{
    /// <summary>Fault injection for tests: milliseconds to pause after each file of a save.</summary>
    public const string SaveDelayVariable = "KOHYAPS_FAULT_SAVE_DELAY_MS";

    private readonly string _runDirectory;
    private readonly Func<string, long> _freeBytes;

    public CheckpointWriter(string runDirectory, Func<string, long>? freeBytes = null)
    {
        _runDirectory = runDirectory;
        _freeBytes = freeBytes ?? DiskSpace.AvailableBytes;
    }

    /// <summary>Called after each file is flushed (tests slow saves down or kill the process here).</summary>
    public Action<string>? FileWritten { get; init; } = DelayFromEnvironment();

    /// <summary>Writes the snapshot; returns the checkpoint folder. Throws <c>InsufficientDiskSpace</c> before writing when it cannot fit.</summary>
    public string Write(CheckpointSnapshot snapshot)
    {
        string parent = CheckpointNames.CheckpointsDirectory(_runDirectory);
        Directory.CreateDirectory(parent);
        long needed = snapshot.EstimatedBytes;
        long free = _freeBytes(parent);
        if (free < needed)
            throw DiskFull(parent, needed, free, null);

        string final = Path.Combine(parent, snapshot.Name);
        string temp = Path.Combine(parent, $"{CheckpointNames.TempPrefix}{snapshot.Name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            WriteFiles(temp, snapshot);
            DurableFiles.FlushDirectory(temp);
            if (Directory.Exists(final))
                DurableFiles.RenameDirectory(final, final + ".superseded-" + DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            DurableFiles.RenameDirectory(temp, final);
            DurableFiles.FlushDirectory(parent);
            return final;
        }
        catch (Exception ex)
        {
            TryDelete(temp);
            // .NET reports ENOSPC with errno 28 when writing, but with a generic HResult when preallocating:
            // the free space on the device decides the latter.
            if (ex is IOException io && (DiskSpace.IsDiskFull(io) || DiskSpace.AvailableBytes(parent) < needed))
                throw DiskFull(parent, needed, DiskSpace.AvailableBytes(parent), io);
            throw;
        }
    }

    private void WriteFiles(string dir, CheckpointSnapshot s)
    {
        // Every file is hashed while it is written: nothing is read back.
        var hashes = new List<ChecksumEntry>();
        void Done(string file, string sha256)
        {
            hashes.Add(new ChecksumEntry(file, sha256));
            FileWritten?.Invoke(file);
        }

        // No sshs_model_hash here: checksums.sha256 covers integrity, and Export-KohyaLora writes it into the files users share.
        Done(CheckpointNames.ModelFile, SafetensorsWriter.Write(Path.Combine(dir, CheckpointNames.ModelFile), s.Model, s.ModelMetadata, false, hashData: false).FileSha256);
        var optimizerMetadata = s.Optimizer.Values.ToDictionary(kv => "kohyaps.optimizer." + kv.Key, kv => kv.Value);
        Done(CheckpointNames.OptimizerFile, SafetensorsWriter.Write(Path.Combine(dir, CheckpointNames.OptimizerFile), s.Optimizer.Tensors, optimizerMetadata, false, hashData: false).FileSha256);
        foreach (var (file, text) in new[]
                 {
                     (CheckpointNames.StateFile, s.State.ToJson()),
                     (CheckpointNames.HyperparametersFile, s.HyperparametersYaml),
                     (CheckpointNames.DatasetFile, s.DatasetJson),
                     (CheckpointNames.EnvironmentFile, s.EnvironmentJson),
                 })
        {
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
            DurableFiles.Write(Path.Combine(dir, file), stream => stream.Write(bytes));
            Done(file, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
        }
        DurableFiles.WriteAllText(Path.Combine(dir, Checksums.FileName), Checksums.Format(hashes));
        FileWritten?.Invoke(Checksums.FileName);
    }

    private static Action<string>? DelayFromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(SaveDelayVariable);
        return int.TryParse(value, out int ms) && ms > 0 ? _ => Thread.Sleep(ms) : null;
    }

    private static KohyaException DiskFull(string directory, long needed, long free, Exception? inner) =>
        new("InsufficientDiskSpace", KohyaErrorKind.ResourceUnavailable,
            $"Not enough disk space for a checkpoint in '{directory}': it needs about {needed:N0} bytes and {free:N0} are free. Nothing was written; earlier checkpoints are intact.",
            inner, directory)
        {
            RecommendedAction = "Free disk space or lower Saving.KeepLast, then resume with Resume-KohyaTraining -Latest.",
        };

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // Left for the next start's temp-folder cleanup.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Free space and disk-full detection.</summary>
public static class DiskSpace
{
    public static long AvailableBytes(string directory) => new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace;

    /// <summary>ENOSPC (28) on Unix; ERROR_DISK_FULL (112) or ERROR_HANDLE_DISK_FULL (39) on Windows.</summary>
    public static bool IsDiskFull(IOException ex) => (ex.HResult & 0xFFFF) is 28 or 112 or 39;
}
