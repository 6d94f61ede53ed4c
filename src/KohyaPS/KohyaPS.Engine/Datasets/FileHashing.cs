using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;

namespace KohyaPS.Engine.Datasets;

/// <summary>SHA-256 of dataset files, streamed through a pooled 1 MiB buffer, many files in parallel.</summary>
public static class FileHashing
{
    private const int BufferSize = 1 << 20;

    /// <summary>The SHA-256 (lower-case hex) and length of one file; <paramref name="onBytes"/> hears every chunk read.</summary>
    public static (string Sha256, long Size) Hash(string path, Action<long>? onBytes = null)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            int read;
            while ((read = stream.Read(buffer, 0, BufferSize)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                size += read;
                onBytes?.Invoke(read);
            }
            return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw DatasetManifestErrors.Unreadable(path, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>SHA-256 (lower-case hex) of a string's UTF-8 bytes.</summary>
    public static string HashText(string text) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// Runs <paramref name="body"/> for every index from 0 to <paramref name="count"/> − 1 on up to
    /// <paramref name="parallelism"/> threads (0: one per logical processor). The first engine error is rethrown as
    /// itself, not wrapped; cancellation throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static void ForEach(int count, int parallelism, CancellationToken cancellation, Action<int> body)
    {
        var options = new ParallelOptions
        {
            MaxDegreeOfParallelism = parallelism > 0 ? parallelism : Environment.ProcessorCount,
            CancellationToken = cancellation,
        };
        try
        {
            Parallel.For(0, count, options, body);
        }
        catch (AggregateException ex)
        {
            var first = ex.Flatten().InnerExceptions[0];
            ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
