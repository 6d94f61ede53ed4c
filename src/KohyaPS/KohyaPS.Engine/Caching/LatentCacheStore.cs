using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Models.Vae;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Caching;

/// <summary>What looking up an entry found.</summary>
public enum LatentEntryState
{
    /// <summary>No file under the key's name.</summary>
    Missing,

    /// <summary>A file that passed every check; its distribution was read.</summary>
    Valid,

    /// <summary>A file that failed a check (see the reason); it must be re-encoded and rewritten.</summary>
    Damaged,
}

/// <summary>
/// The files of a latent cache: <c>&lt;dir&gt;/&lt;key[0..2]&gt;/&lt;key&gt;.safetensors</c> holding float32 tensors
/// <c>mean</c> and <c>logvar</c>, the key's components as metadata and the data's SHA-256 (<c>sshs_model_hash</c>).
/// Written to a temporary file in the same folder, flushed to the device and renamed into place, so a file under a
/// key's name is always whole; two writers of one key write the same bytes, and the last rename wins harmlessly.
/// Reading is safe from any number of threads.
/// </summary>
public sealed class LatentCacheStore
{
    public const string Extension = ".safetensors";
    public const string TempExtension = ".tmp";
    public const string MeanTensor = "mean";
    public const string LogVarTensor = "logvar";

    /// <summary>Header and padding allowance on top of the tensor bytes, for the free-space check.</summary>
    private const long HeaderAllowance = 4096;

    private readonly Func<string, long> _freeBytes;

    /// <param name="freeBytes">Free bytes on the volume of a folder (tests inject a full disk); the real free space by default.</param>
    public LatentCacheStore(string directory, Func<string, long>? freeBytes = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
        _freeBytes = freeBytes ?? DiskSpace.AvailableBytes;
    }

    public string Directory { get; }

    /// <summary>Where the entry of <paramref name="key"/> lives.</summary>
    public string PathOf(string key) => Path.Combine(Directory, key[..2], key + Extension);

    /// <summary>
    /// Reads and checks the entry of <paramref name="key"/>: a valid header, exactly the two tensors as float32 of
    /// <paramref name="shape"/>, metadata describing this key, and data whose SHA-256 is the one recorded.
    /// </summary>
    public LatentEntryState TryRead(LatentCacheKey key, long[] shape, out LatentDistribution? latents, out string reason)
    {
        latents = null;
        reason = "";
        string path = PathOf(key.Value);
        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Open(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return LatentEntryState.Missing;
        }
        catch (Exception ex) when (ex is SafetensorsFormatException or IOException or UnauthorizedAccessException)
        {
            reason = ex.Message;
            return LatentEntryState.Damaged;
        }
        using (file)
        {
            try
            {
                if (!Check(file, key, shape, out reason))
                    return LatentEntryState.Damaged;
                latents = Read(file);
                return LatentEntryState.Valid;
            }
            catch (Exception ex) when (ex is SafetensorsFormatException or IOException)
            {
                reason = ex.Message;
                return LatentEntryState.Damaged;
            }
        }
    }

    private static bool Check(SafetensorsFile file, LatentCacheKey key, long[] shape, out string reason)
    {
        if (!key.Matches(file.Metadata, out reason))
            return false;
        var names = file.Entries.Select(e => e.Name).Order(StringComparer.Ordinal).ToArray();
        if (!names.SequenceEqual(new[] { LogVarTensor, MeanTensor }, StringComparer.Ordinal))
        {
            reason = $"it holds tensors [{string.Join(", ", names)}], not [logvar, mean]";
            return false;
        }
        foreach (var entry in file.Entries)
        {
            if (entry.Dtype != SafetensorsDtype.F32 || !entry.Shape.SequenceEqual(shape))
            {
                reason = $"tensor '{entry.Name}' is {entry.Dtype.GetName()} [{string.Join(", ", entry.Shape)}], not F32 [{string.Join(", ", shape)}]";
                return false;
            }
        }
        if (!file.Metadata.TryGetValue(SafetensorsWriter.ModelHashMetadataKey, out var recorded))
        {
            reason = $"its metadata has no '{SafetensorsWriter.ModelHashMetadataKey}'";
            return false;
        }
        string actual = file.ComputeDataSha256();
        if (!string.Equals(actual, recorded, StringComparison.Ordinal))
        {
            reason = $"its data's SHA-256 is {actual}, not the {recorded} recorded when it was written";
            return false;
        }
        return true;
    }

    private static LatentDistribution Read(SafetensorsFile file)
    {
        var mean = file.ReadTensor(MeanTensor);
        try
        {
            return new LatentDistribution(mean, file.ReadTensor(LogVarTensor));
        }
        catch
        {
            mean.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the entry of <paramref name="key"/> durably. Throws <see cref="LatentCacheErrors.DiskFullId"/> (before
    /// writing when the free space is known to be short) or <see cref="LatentCacheErrors.WriteFailedId"/>; either way
    /// the temporary file is removed and no entry appears under the key's name.
    /// </summary>
    public void Write(LatentCacheKey key, LatentDistribution latents)
    {
        string value = key.Value;
        string final = PathOf(value);
        string folder = Path.GetDirectoryName(final)!;
        long needed = HeaderAllowance + 4 * (latents.Mean.numel() + latents.LogVar.numel());
        string temp = Path.Combine(folder, $"{value}.{Guid.NewGuid():N}{TempExtension}");
        try
        {
            System.IO.Directory.CreateDirectory(folder);
            long free = _freeBytes(folder);
            if (free < needed)
                throw LatentCacheErrors.DiskFull(folder, needed, free, null);
            var tensors = new[]
            {
                new KeyValuePair<string, Tensor>(MeanTensor, latents.Mean),
                new KeyValuePair<string, Tensor>(LogVarTensor, latents.LogVar),
            };
            SafetensorsWriter.Write(temp, tensors, key.ToMetadata(), embedModelHash: true, hashData: false);
            MoveIntoPlace(temp, final);
            DurableFiles.FlushDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            // .NET reports ENOSPC by errno when writing but with a generic HResult when preallocating: then the
            // device's real free space decides.
            if (ex is IOException io && (DiskSpace.IsDiskFull(io) || RealFree(folder) < needed))
                throw LatentCacheErrors.DiskFull(folder, needed, RealFree(folder), io);
            throw LatentCacheErrors.WriteFailed(final, ex);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Renames over any existing file (a damaged one, or the same bytes from another writer). Windows refuses while
    /// a reader holds the old file open: retry briefly before giving up.
    /// </summary>
    private static void MoveIntoPlace(string temp, string final)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                File.Move(temp, final, overwrite: true);
                return;
            }
            catch (Exception ex) when (attempt < 10 && ex is UnauthorizedAccessException or IOException && !IsDiskFull(ex))
            {
                Thread.Sleep(20 * attempt);
            }
        }
    }

    private static bool IsDiskFull(Exception ex) => ex is IOException io && DiskSpace.IsDiskFull(io);

    private static long RealFree(string folder)
    {
        try
        {
            return DiskSpace.AvailableBytes(folder);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Every entry file (by key) and every temporary file under the cache folder; other files are ignored.</summary>
    public (IReadOnlyList<(string Key, string Path)> Entries, IReadOnlyList<string> Temps) Scan()
    {
        var entries = new List<(string, string)>();
        var temps = new List<string>();
        if (!System.IO.Directory.Exists(Directory))
            return (entries, temps);
        foreach (var folder in System.IO.Directory.EnumerateDirectories(Directory))
        {
            string prefix = Path.GetFileName(folder);
            if (prefix.Length != 2 || !IsLowerHex(prefix))
                continue;
            foreach (var file in System.IO.Directory.EnumerateFiles(folder))
            {
                string name = Path.GetFileName(file);
                if (name.Length <= 64 || name[64] != '.' || !IsLowerHex(name[..64]) || !name.StartsWith(prefix, StringComparison.Ordinal))
                    continue;
                if (name.Length == 64 + Extension.Length && name.EndsWith(Extension, StringComparison.Ordinal))
                    entries.Add((name[..64], file));
                else if (name.EndsWith(TempExtension, StringComparison.Ordinal))
                    temps.Add(file);
            }
        }
        return (entries, temps);
    }

    /// <summary>
    /// Deletes temporary files older than <paramref name="age"/> (a younger one may be another writer's); returns
    /// them and their total size.
    /// </summary>
    public (IReadOnlyList<string> Removed, long Bytes) CleanTemps(TimeSpan age)
    {
        var removed = new List<string>();
        long bytes = 0;
        var cutoff = DateTime.UtcNow - age;
        foreach (var temp in Scan().Temps)
        {
            long length = LengthOf(temp);
            if (File.GetLastWriteTimeUtc(temp) <= cutoff && TryDelete(temp))
            {
                removed.Add(temp);
                bytes += length;
            }
        }
        return (removed, bytes);
    }

    /// <summary>A file's size, or 0 when it cannot be read (gone already).</summary>
    internal static long LengthOf(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    internal static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path))
                return false;
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    internal static bool IsLowerHex(string s) => s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
