using System.Globalization;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// One trainer per run folder: an exclusive handle (FileShare.None — an advisory flock on Unix, a sharing
/// lock on Windows) on <c>&lt;run&gt;/.kohyaps.lock</c>, held for the run's lifetime. The operating system
/// releases it when the process dies, so a lock left by a killed process is simply taken over. The holder
/// (pid, host, start time) is written beside it in <c>.kohyaps.lock.owner</c>, a hint for messages only.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = ".kohyaps.lock";
    public const string OwnerFileName = ".kohyaps.lock.owner";
    private readonly FileStream _handle;
    private readonly string _ownerPath;

    private RunLock(FileStream handle, string ownerPath, string? previousHolder)
    {
        _handle = handle;
        _ownerPath = ownerPath;
        TakenOverFrom = previousHolder;
    }

    /// <summary>The holder recorded by a process that ended without releasing, when the lock was taken over.</summary>
    public string? TakenOverFrom { get; }

    public static RunLock Acquire(string runDirectory)
    {
        Directory.CreateDirectory(runDirectory);
        string path = Path.Combine(runDirectory, FileName);
        string ownerPath = Path.Combine(runDirectory, OwnerFileName);
        FileStream handle;
        try
        {
            handle = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            string holder = ReadOwner(ownerPath) ?? "another process";
            throw new KohyaException("RunLocked", KohyaErrorKind.ResourceBusy,
                $"The run '{runDirectory}' is being trained by {holder}. One trainer per run folder.", ex, runDirectory)
            {
                RecommendedAction = "Wait for it to finish, or stop it with Stop-KohyaTraining -Path <run>.",
            };
        }
        string? previous = ReadOwner(ownerPath);
        string me = string.Create(CultureInfo.InvariantCulture,
            $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTime.UtcNow:O}");
        File.WriteAllText(ownerPath, me);
        return new RunLock(handle, ownerPath, previous);
    }

    /// <summary>Who holds (or last held without releasing) the run, or null.</summary>
    public static string? ReadOwner(string ownerPath)
    {
        try
        {
            string text = File.ReadAllText(ownerPath).Trim();
            return text.Length > 0 ? text : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Releases the lock; removing the owner note first means a clean exit is never reported as stale.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(_ownerPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        _handle.Dispose();
    }
}
