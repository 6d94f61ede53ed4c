using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using static KohyaPS.Engine.Interop.ForeignFolderNames;

namespace KohyaPS.Engine.Interop;

/// <summary>
/// Finds and describes checkpoints written by other trainers: sd-scripts <c>--save_state</c> folders,
/// diffusers/accelerate <c>checkpoint-N</c> folders, OneTrainer backups and kohya LoRA <c>.safetensors</c> files.
/// Nothing is ever unpickled: <c>.pkl</c>, <c>.bin</c> and <c>.pt</c> files are listed with their sizes, never opened.
/// Problems with what is found come back as findings; only a missing path is thrown.
/// </summary>
public static class ForeignCheckpointDetector
{
    /// <summary>
    /// Says which foreign format a folder is, from its name and the files directly in it; null for none.
    /// sd-scripts state: holds train_state.json, or is named <c>…-state</c> and holds an accelerate state file.
    /// Diffusers: named <c>checkpoint-&lt;N&gt;</c>. OneTrainer: named <c>&lt;stamp&gt;-backup-&lt;g&gt;-&lt;e&gt;-&lt;s&gt;</c>, or holds a
    /// meta.json with <c>train_progress</c>.
    /// </summary>
    public static KohyaForeignFormat? Recognize(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            return null;
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(folder));
        try
        {
            if (File.Exists(Path.Combine(folder, TrainStateFile))
                || (IsSdScriptsStateName(name) && Directory.EnumerateFiles(folder).Any(f => IsStateFile(Path.GetFileName(f)))))
                return KohyaForeignFormat.SdScriptsState;
            if (DiffusersCheckpoint().IsMatch(name))
                return KohyaForeignFormat.DiffusersCheckpoint;
            if (OneTrainerBackup().IsMatch(name) || OneTrainerMeta.Read(Path.Combine(folder, OneTrainerMetaFile)).Progress is not null)
                return KohyaForeignFormat.OneTrainerBackup;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An unlistable folder is recognised by name alone.
            if (DiffusersCheckpoint().IsMatch(name)) return KohyaForeignFormat.DiffusersCheckpoint;
            if (OneTrainerBackup().IsMatch(name)) return KohyaForeignFormat.OneTrainerBackup;
        }
        return null;
    }

    /// <summary>
    /// Describes one folder or <c>.safetensors</c> file; null when it is not a foreign checkpoint (an unrecognised
    /// folder, or a readable safetensors file without kohya LoRA tensors). An unreadable <c>.safetensors</c> file is
    /// described as a <see cref="KohyaForeignFormat.KohyaLora"/> with an error finding.
    /// </summary>
    /// <param name="verifyLoraHashes">For LoRA files, recompute <c>sshs_model_hash</c> (reads the whole file).</param>
    /// <exception cref="KohyaException"><c>ForeignCheckpointPathNotFound</c>.</exception>
    public static KohyaForeignCheckpointInfo? Inspect(string path, bool verifyLoraHashes = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
            return IsSafetensors(full) ? InspectLoraFile(full, verifyLoraHashes) : null;
        if (!Directory.Exists(full))
            throw NotFound(full);
        return InspectFolder(full, verifyLoraHashes);
    }

    /// <summary>
    /// Lists the foreign checkpoints in a run or output folder. Scanned: the folder's own entries, and the entries of
    /// each subfolder that is not itself a checkpoint (so <c>output/x-state</c> and <c>workspace/backup/&lt;backup&gt;</c>
    /// are found from the run folder) — never deeper. Folders are recognised as in <see cref="Recognize"/>; files
    /// count when they end in <c>.safetensors</c> and hold kohya LoRA tensors. Names starting with '.' (temporary
    /// and hidden entries) are skipped, and so is the inside of our own checkpoint folders (<c>&lt;run&gt;-s&lt;step&gt;</c>).
    /// Sorted by path.
    /// </summary>
    /// <exception cref="KohyaException"><c>ForeignCheckpointPathNotFound</c>.</exception>
    public static IReadOnlyList<KohyaForeignCheckpointInfo> Scan(string folder, bool verifyLoraHashes = false)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
            throw NotFound(root);
        var results = new List<KohyaForeignCheckpointInfo>();
        foreach (string entry in Entries(root))
        {
            if (Directory.Exists(entry))
            {
                if (InspectFolder(entry, verifyLoraHashes) is { } info)
                {
                    results.Add(info);
                    continue;
                }
                if (CheckpointNames.StepOf(Path.GetFileName(entry)) is not null)
                    continue; // one of our own checkpoints: Get-KohyaCheckpoint lists those
                foreach (string inner in Entries(entry))
                {
                    var found = Directory.Exists(inner) ? InspectFolder(inner, verifyLoraHashes)
                        : IsSafetensors(inner) ? InspectLoraFile(inner, verifyLoraHashes) : null;
                    if (found is not null)
                        results.Add(found);
                }
            }
            else if (IsSafetensors(entry) && InspectLoraFile(entry, verifyLoraHashes) is { } lora)
            {
                results.Add(lora);
            }
        }
        return results.OrderBy(r => r.Path, StringComparer.Ordinal).ToList();
    }

    private static KohyaForeignCheckpointInfo? InspectFolder(string folder, bool verify) => Recognize(folder) switch
    {
        KohyaForeignFormat.SdScriptsState => SdScriptsStateInspector.Inspect(folder, verify),
        KohyaForeignFormat.DiffusersCheckpoint => InspectDiffusers(folder),
        KohyaForeignFormat.OneTrainerBackup => InspectOneTrainer(folder),
        _ => null,
    };

    internal static KohyaForeignCheckpointInfo? InspectLoraFile(string path, bool verify)
    {
        var findings = new List<KohyaInteropFinding>();
        KohyaLoraInfo? lora = null;
        long length = 0;
        DateTime created = default;
        try
        {
            var fileInfo = new FileInfo(path);
            length = fileInfo.Length;
            created = fileInfo.LastWriteTimeUtc;
            using var file = SafetensorsFile.Open(path);
            if (!KohyaLoraReader.HasLoraTensors(file.Header))
                return null;
            lora = KohyaLoraReader.Describe(file, verify);
            findings.AddRange(lora.Findings);
        }
        catch (KohyaException ex)
        {
            findings.Add(KohyaLoraReader.Finding(ex.ErrorId, KohyaFindingSeverity.Error, ex.Message, path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.Unreadable, KohyaFindingSeverity.Error, $"'{path}' could not be read: {ex.Message}", path));
        }
        return new KohyaForeignCheckpointInfo
        {
            Path = path,
            Name = Path.GetFileName(path),
            Format = KohyaForeignFormat.KohyaLora,
            Step = lora?.Steps,
            Epoch = lora?.Epoch,
            Created = created,
            SizeBytes = length,
            ModelFile = Path.GetFileName(path),
            Lora = lora,
            Findings = findings,
        };
    }

    private static KohyaForeignCheckpointInfo InspectDiffusers(string folder)
    {
        var findings = new List<KohyaInteropFinding>();
        var files = FolderListing.List(folder, findings);
        string name = Path.GetFileName(folder);
        string[] candidates =
        [
            "pytorch_lora_weights.safetensors", SafeModelFile, PickleModelFile, "pytorch_lora_weights.bin",
            "unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.bin",
        ];
        string? model = candidates.FirstOrDefault(c => files.Any(f => f.RelativePath == c))
            ?? files.FirstOrDefault(f => f.RelativePath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))?.RelativePath;
        if (model is null)
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.DiffusersNoWeights, KohyaFindingSeverity.Warning,
                $"'{folder}' holds no weights file (model.safetensors, pytorch_model.bin, pytorch_lora_weights.safetensors, unet/…).", folder));
        return new KohyaForeignCheckpointInfo
        {
            Path = folder,
            Name = name,
            Format = KohyaForeignFormat.DiffusersCheckpoint,
            Created = FolderListing.LastWriteUtc(folder),
            SizeBytes = files.Sum(f => f.Length),
            Files = files,
            Findings = findings,
            Step = Number(DiffusersCheckpoint().Match(name).Groups["step"]),
            ModelFile = model,
            HasOptimizerState = files.Any(f => f.RelativePath == OptimizerFile),
            HasSchedulerState = files.Any(f => f.RelativePath == SchedulerFile),
            RandomStateFiles = files.Where(f => RandomStates().IsMatch(f.RelativePath)).Select(f => f.RelativePath).ToArray(),
        };
    }

    private static KohyaForeignCheckpointInfo InspectOneTrainer(string folder)
    {
        var findings = new List<KohyaInteropFinding>();
        var files = FolderListing.List(folder, findings);
        var m = OneTrainerBackup().Match(Path.GetFileName(folder));
        var (progress, problem) = OneTrainerMeta.Read(Path.Combine(folder, OneTrainerMetaFile));
        if (problem is not null)
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.OneTrainerMetaInvalid, KohyaFindingSeverity.Warning, $"'{folder}': {problem}", OneTrainerMetaFile));
        long? nameStep = Number(m.Groups["global"]), nameEpoch = Number(m.Groups["epoch"]), nameEpochStep = Number(m.Groups["epochstep"]);
        if (progress is not null && m.Success && (progress.GlobalStep != nameStep || progress.Epoch != nameEpoch || progress.EpochStep != nameEpochStep))
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.OneTrainerMetaInvalid, KohyaFindingSeverity.Warning,
                $"'{folder}': meta.json says global step {progress.GlobalStep}, epoch {progress.Epoch}, epoch step {progress.EpochStep}, but the name says {nameStep}, {nameEpoch}, {nameEpochStep}.",
                OneTrainerMetaFile));
        return new KohyaForeignCheckpointInfo
        {
            Path = folder,
            Name = Path.GetFileName(folder),
            Format = KohyaForeignFormat.OneTrainerBackup,
            SizeBytes = files.Sum(f => f.Length),
            Files = files,
            Findings = findings,
            Step = progress?.GlobalStep ?? nameStep,
            Epoch = progress?.Epoch ?? nameEpoch,
            EpochStep = progress?.EpochStep ?? nameEpochStep,
            Created = m.Success && DateTime.TryParseExact(m.Groups["stamp"].Value, "yyyy-MM-dd_HH-mm-ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var stamp)
                ? stamp : FolderListing.LastWriteUtc(folder),
            ModelFile = files.Any(f => f.RelativePath == "lora/lora.safetensors") ? "lora/lora.safetensors"
                : files.FirstOrDefault(f => f.RelativePath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))?.RelativePath,
            HasOptimizerState = files.Any(f => f.RelativePath == "optimizer/optimizer.pt"),
        };
    }

    private static IEnumerable<string> Entries(string folder)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(folder)
                .Where(e => !Path.GetFileName(e).StartsWith('.'))
                .Order(StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static bool IsSafetensors(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) && File.Exists(path);

    private static KohyaException NotFound(string path) =>
        new(InteropErrorIds.PathNotFound, KohyaErrorKind.ObjectNotFound, $"'{path}' does not exist.", target: path);
}
