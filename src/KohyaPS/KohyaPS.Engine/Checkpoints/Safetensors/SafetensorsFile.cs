using System.Buffers;
using System.Security.Cryptography;
using KohyaPS.Engine.Native;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Checkpoints.Safetensors;

/// <summary>
/// An open safetensors file whose header has been validated. Tensors are read one at a time, straight from the
/// file into each new tensor's own storage (positional reads: no full-file buffer, safe to call from several
/// threads). Hold it briefly: on Windows an open handle blocks renaming the checkpoint directory.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly FileStream _stream;
    private bool _disposed;

    private SafetensorsFile(string path, FileStream stream, SafetensorsHeader header)
    {
        Path = path;
        _stream = stream;
        Header = header;
    }

    public string Path { get; }

    public SafetensorsHeader Header { get; }

    /// <summary>Entries sorted by data offset.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries => Header.Entries;

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;

    /// <summary>Opens the file and validates its header; <see cref="SafetensorsFormatException"/> when it breaks the format.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        try
        {
            var header = SafetensorsHeader.Read(stream, path);
            return new SafetensorsFile(path, stream, header);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads one tensor into new storage of its own (CPU, then moved to <paramref name="device"/> if given). The
    /// caller owns the tensor. Dtypes TorchSharp has no type for (F8/F6/F4, U16/U32/U64) raise
    /// <c>SafetensorsDtypeNotSupported</c>; read them with <see cref="ReadBytes(string)"/>.
    /// </summary>
    public Tensor ReadTensor(string name, Device? device = null) => ReadTensor(Header.GetEntry(name), device, TensorByteChunks.DefaultChunkBytes);

    /// <summary>Reads every tensor lazily, in file order; each yielded tensor belongs to the caller.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> ReadAll(Device? device = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Iterate();

        IEnumerable<(string, Tensor)> Iterate()
        {
            foreach (var entry in Header.Entries)
                yield return (entry.Name, ReadTensor(entry, device, TensorByteChunks.DefaultChunkBytes));
        }
    }

    /// <summary>The raw little-endian bytes of one tensor (up to 2 GiB), for any dtype.</summary>
    public byte[] ReadBytes(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var entry = Header.GetEntry(name);
        if (entry.ByteLength > Array.MaxLength)
            throw new KohyaException("SafetensorsTensorTooLarge", KohyaErrorKind.InvalidOperation,
                $"'{Path}': tensor '{name}' is {entry.ByteLength:N0} bytes, too large for one array; use ReadTensor.", target: Path);
        var bytes = new byte[entry.ByteLength];
        ReadSpan(entry, Header.DataStart + entry.Begin, bytes);
        return bytes;
    }

    /// <summary>SHA-256 (lower-case hex) of every byte after the header: what kohya stores as <c>sshs_model_hash</c>.</summary>
    public string ComputeDataSha256()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long position = Header.DataStart;
            long end = Header.FileLength;
            while (position < end)
            {
                int want = (int)Math.Min(buffer.Length, end - position);
                int got = RandomAccess.Read(Handle, buffer.AsSpan(0, want), position);
                if (got == 0)
                    throw ShrunkWhileOpen(null, position);
                hash.AppendData(buffer, 0, got);
                position += got;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public void Dispose()
    {
        _disposed = true;
        _stream.Dispose();
    }

    internal Tensor ReadTensor(SafetensorsEntry entry, Device? device, long chunkBytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var scalar = entry.ScalarType ?? throw new KohyaException("SafetensorsDtypeNotSupported", KohyaErrorKind.NotImplemented,
            $"'{Path}': tensor '{entry.Name}' is {entry.Dtype.GetName()}, which TorchSharp has no element type for; read its raw bytes instead.",
            target: Path);
        TorchRuntime.EnsureLoaded();

        var tensor = torch.empty(entry.ShapeArray, scalar, torch.CPU);
        try
        {
            long position = Header.DataStart + entry.Begin;
            long read = TensorByteChunks.ForEach(tensor, chunkBytes, chunk =>
            {
                ReadSpan(entry, position, chunk);
                if (scalar == ScalarType.Bool)
                {
                    int bad = chunk.IndexOfAnyExcept((byte)0, (byte)1);
                    if (bad >= 0)
                        throw new SafetensorsFormatException(SafetensorsErrorIds.InvalidBoolValue, Path,
                            $"tensor '{entry.Name}': BOOL byte at data offset {position - Header.DataStart + bad} is {chunk[bad]}, not 0 or 1.", entry.Name);
                }
                position += chunk.Length;
            });
            if (read != entry.ByteLength)
                throw new InvalidOperationException($"Internal error: read {read} bytes for tensor '{entry.Name}', expected {entry.ByteLength}.");

            if (device is null || device.type == DeviceType.CPU)
                return tensor;
            var moved = tensor.to(device);
            tensor.Dispose();
            return moved;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private SafeFileHandle Handle => _stream.SafeFileHandle;

    private void ReadSpan(SafetensorsEntry entry, long position, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int got = RandomAccess.Read(Handle, destination, position);
            if (got == 0)
                throw ShrunkWhileOpen(entry.Name, position);
            destination = destination[got..];
            position += got;
        }
    }

    private SafetensorsFormatException ShrunkWhileOpen(string? tensor, long position) =>
        new(SafetensorsErrorIds.Truncated, Path,
            $"the file ended at byte {position:N0}, before the {Header.FileLength:N0} bytes its header declares (it changed after it was opened)"
            + (tensor is null ? "." : $", inside tensor '{tensor}'."), tensor);
}
