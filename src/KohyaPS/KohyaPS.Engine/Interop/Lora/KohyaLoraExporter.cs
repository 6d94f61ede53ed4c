using System.Security.Cryptography;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Interop;

/// <summary>
/// Writes our LoRA weights as a kohya-format LoRA <c>.safetensors</c> that sd-scripts, the AUTOMATIC1111/Forge web UIs
/// and ComfyUI load: tensors renamed through a <see cref="KohyaLoraKeyMap"/>, weights converted to the chosen dtype,
/// alphas as float32 scalars, <c>ss_*</c> and <c>modelspec.*</c> metadata, and <c>sshs_model_hash</c> /
/// <c>sshs_legacy_hash</c> computed as sd-scripts computes them. The file is written under a temporary name in the
/// target folder, flushed to disk and renamed into place: the target is either the complete new file or untouched.
/// </summary>
public static class KohyaLoraExporter
{
    /// <summary><c>ss_network_module</c> of the files written.</summary>
    public const string NetworkModule = "networks.lora";

    /// <summary><c>modelspec.sai_model_spec</c> written (the version current sd-scripts writes).</summary>
    public const string ModelSpecVersion = "1.0.1";

    private const string TempMarker = ".tmp-";

    /// <summary>Exports the LoRA.</summary>
    /// <param name="outputPath">Target file; must end in <c>.safetensors</c> and its folder must exist.</param>
    /// <param name="tensors">Our tensors: <c>unet.&lt;path&gt;.lora_down.weight</c>, <c>.lora_up.weight</c>, <c>.alpha</c> (and <c>text_encoder.…</c>), on any device.</param>
    /// <param name="keyMap">The model's module paths, with the text-encoder naming to use.</param>
    /// <param name="overwrite">Replace an existing file (atomically); otherwise an existing target is an error.</param>
    /// <exception cref="KohyaException">
    /// <c>KohyaLoraExportInvalid</c> (tensors or settings cannot make a valid LoRA), <c>KohyaLoraKeyNotMapped</c>,
    /// <c>KohyaLoraExportExists</c>, <c>ForeignCheckpointPathNotFound</c> (no such folder).
    /// </exception>
    public static KohyaLoraExportResult Export(string outputPath, IReadOnlyDictionary<string, Tensor> tensors, KohyaLoraKeyMap keyMap,
        KohyaLoraExportSettings settings, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(outputPath);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(keyMap);
        ArgumentNullException.ThrowIfNull(settings);
        string target = Path.GetFullPath(outputPath);
        CheckTarget(target, overwrite);
        KohyaLoraMetadataBuilder.Validate(settings);
        TorchRuntime.EnsureLoaded();

        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var modules = KohyaLoraExportModules.Collect(tensors, keyMap, settings);
        var items = new List<KeyValuePair<string, Tensor>>();
        foreach (var m in modules)
        {
            items.Add(new(m.KohyaModule + KohyaLoraKeys.DownSuffix, m.Down));
            items.Add(new(m.KohyaModule + KohyaLoraKeys.UpSuffix, m.Up));
            items.Add(new(m.KohyaModule + KohyaLoraKeys.AlphaSuffix, m.Alpha));
        }
        int dim = KohyaLoraExportModules.NetworkDim(modules, settings);
        double alpha = KohyaLoraExportModules.NetworkAlpha(modules, settings);
        var metadata = KohyaLoraMetadataBuilder.Build(settings, dim, alpha, DateTimeOffset.Now);

        var (modelHash, legacyHash) = PrecomputeHashes(items, metadata);
        metadata[KohyaLoraHashes.ModelHashKey] = modelHash;
        if (legacyHash is not null)
            metadata[KohyaLoraHashes.LegacyHashKey] = legacyHash;

        string directory = Path.GetDirectoryName(target)!;
        string temp = Path.Combine(directory, "." + Path.GetFileName(target) + TempMarker + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var written = SafetensorsWriter.Write(temp, items, metadata);
            if (written.DataSha256 != modelHash)
                throw new InvalidOperationException(
                    "Internal error: the safetensors writer laid the data out differently from Python's safetensors, so the kohya hashes would be wrong.");
            MoveIntoPlace(temp, target, overwrite);
            DurableFiles.FlushDirectory(directory);
            return new KohyaLoraExportResult(target, written.FileLength, items.Count, modules.Count, dim, alpha, modelHash, legacyHash,
                new SortedDictionary<string, string>(metadata, StringComparer.Ordinal));
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Exports the LoRA tensors of one of our <c>model.safetensors</c> files (the names ending in <c>.lora_down.weight</c>,
    /// <c>.lora_up.weight</c> or <c>.alpha</c>; other tensors are ignored). See <see cref="Export"/>.
    /// </summary>
    /// <exception cref="SafetensorsFormatException">The source breaks the safetensors format.</exception>
    public static KohyaLoraExportResult ExportFromFile(string sourcePath, string outputPath, KohyaLoraKeyMap keyMap,
        KohyaLoraExportSettings settings, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        if (!File.Exists(sourcePath))
            throw new KohyaException(InteropErrorIds.PathNotFound, KohyaErrorKind.ObjectNotFound, $"'{sourcePath}' does not exist.", target: sourcePath);
        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (var source = SafetensorsFile.Open(sourcePath))
        {
            foreach (var entry in source.Entries)
            {
                if (entry.Name.EndsWith(KohyaLoraKeys.DownSuffix, StringComparison.Ordinal) || entry.Name.EndsWith(KohyaLoraKeys.UpSuffix, StringComparison.Ordinal)
                    || entry.Name.EndsWith(KohyaLoraKeys.AlphaSuffix, StringComparison.Ordinal))
                    tensors[entry.Name] = source.ReadTensor(entry.Name);
            }
        }
        return Export(outputPath, tensors, keyMap, settings, overwrite);
    }

    private static void CheckTarget(string target, bool overwrite)
    {
        if (!target.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw Invalid($"The output file '{target}' must have the extension .safetensors (LoRA loaders and Get-KohyaCheckpoint look for it).", target);
        string? directory = Path.GetDirectoryName(target);
        if (directory is null || !Directory.Exists(directory))
            throw new KohyaException(InteropErrorIds.PathNotFound, KohyaErrorKind.ObjectNotFound, $"The output folder '{directory}' does not exist.", target: directory);
        if (Directory.Exists(target))
            throw Invalid($"'{target}' is a folder.", target);
        if (File.Exists(target) && !overwrite)
            throw Exists(target);
    }

    /// <summary>
    /// SHA-256 of the data and the legacy window, in the layout Python's safetensors gives the same tensors
    /// (descending dtype, then name); the writer's own hash is compared with it afterwards.
    /// </summary>
    private static (string ModelHash, string? LegacyHash) PrecomputeHashes(List<KeyValuePair<string, Tensor>> items, IReadOnlyDictionary<string, string> metadata)
    {
        var layout = items
            .Select(kv => (kv.Key, kv.Value, Dtype: SafetensorsDtypes.TryFromScalarType(kv.Value.dtype, out var d) ? d.Value : throw new InvalidOperationException("unreachable")))
            .OrderByDescending(x => (int)x.Dtype).ThenBy(x => x.Key, StringComparer.Ordinal)
            .ToList();
        var entries = new List<(string, SafetensorsDtype, IReadOnlyList<long>, long, long)>();
        long offset = 0;
        foreach (var (name, tensor, dtype) in layout)
        {
            long length = tensor.numel() * tensor.element_size();
            entries.Add((name, dtype, tensor.shape, offset, offset + length));
            offset += length;
        }
        long dataLength = offset;
        long? windowStart = KohyaLoraHashes.LegacyWindowDataOffset(KohyaLoraHashes.PythonHeaderLength(metadata, entries));
        var window = windowStart is { } ws && ws < dataLength ? new byte[Math.Min(KohyaLoraHashes.LegacyWindowLength, dataLength - ws)] : [];

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long position = 0;
        foreach (var (_, tensor, _) in layout)
        {
            TensorByteChunks.ForEach(tensor, TensorByteChunks.DefaultChunkBytes, chunk =>
            {
                sha.AppendData(chunk);
                if (windowStart is { } start && window.Length > 0)
                {
                    long from = Math.Max(position, start), to = Math.Min(position + chunk.Length, start + window.Length);
                    if (from < to)
                        chunk[(int)(from - position)..(int)(to - position)].CopyTo(window.AsSpan((int)(from - start)));
                }
                position += chunk.Length;
            });
        }
        return (Convert.ToHexStringLower(sha.GetHashAndReset()), windowStart is null ? null : KohyaLoraHashes.LegacyHashOf(window));
    }

    private static void MoveIntoPlace(string temp, string target, bool overwrite)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                File.Move(temp, target, overwrite);
                return;
            }
            catch (IOException) when (!overwrite && File.Exists(target))
            {
                throw Exists(target);
            }
            catch (Exception ex) when (attempt < 10 && ex is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(50 * attempt); // Windows: antivirus or the indexer may hold the target briefly
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover hidden temp file never looks like a LoRA (its name does not end in .safetensors).
        }
    }

    internal static KohyaException Invalid(string message, object? target = null) =>
        new(InteropErrorIds.ExportInvalid, KohyaErrorKind.InvalidArgument, message, target: target);

    private static KohyaException Exists(string target) =>
        new(InteropErrorIds.ExportExists, KohyaErrorKind.InvalidOperation, $"'{target}' already exists.", target: target)
        {
            RecommendedAction = "Choose another file name, or ask for the existing file to be replaced (-Force).",
        };
}
