namespace KohyaPS.Contracts;

/// <summary>The kinds of checkpoint written by other trainers that KohyaPS recognises.</summary>
public enum KohyaForeignFormat
{
    /// <summary>kohya sd-scripts <c>--save_state</c> folder: <c>&lt;name&gt;-&lt;epoch:06d&gt;-state</c>, <c>&lt;name&gt;-step&lt;step:08d&gt;-state</c> or <c>&lt;name&gt;-state</c>.</summary>
    SdScriptsState,

    /// <summary>diffusers example scripts' <c>checkpoint-&lt;step&gt;</c> folder (written by accelerate's save_state).</summary>
    DiffusersCheckpoint,

    /// <summary>OneTrainer backup: <c>workspace/backup/&lt;yyyy-MM-dd_HH-mm-ss&gt;-backup-&lt;global step&gt;-&lt;epoch&gt;-&lt;epoch step&gt;</c> with meta.json.</summary>
    OneTrainerBackup,

    /// <summary>A kohya-format LoRA <c>.safetensors</c> file (no training state).</summary>
    KohyaLora,
}

/// <summary>One file of a foreign checkpoint folder, with its size. Pickle files (.pkl/.bin/.pt) are only ever listed, never opened.</summary>
public sealed class KohyaForeignFile
{
    /// <summary>Path relative to the checkpoint folder, with '/' separators.</summary>
    public string RelativePath { get; init; } = "";
    public long Length { get; init; }

    public override string ToString() => $"{RelativePath} ({Length:N0} bytes)";
}

/// <summary>A checkpoint folder or LoRA file written by sd-scripts, diffusers/accelerate or OneTrainer.</summary>
public sealed class KohyaForeignCheckpointInfo
{
    /// <summary>The folder (or, for <see cref="KohyaForeignFormat.KohyaLora"/>, the file).</summary>
    public string Path { get; init; } = "";
    public string Name { get; init; } = "";
    public KohyaForeignFormat Format { get; init; }

    /// <summary>
    /// Optimizer steps at the save, as the other trainer counts them (sd-scripts: train_state.json current_step or the
    /// folder name; diffusers: the folder name; OneTrainer: global_step; LoRA: ss_steps). Null when unknown.
    /// </summary>
    public long? Step { get; init; }
    public long? Epoch { get; init; }

    /// <summary>OneTrainer only: the step inside the epoch.</summary>
    public long? EpochStep { get; init; }

    /// <summary>When it was written: OneTrainer's name stamp (local time, unspecified kind) or the last write time (UTC).</summary>
    public DateTime Created { get; init; }

    /// <summary>Bytes of every listed file.</summary>
    public long SizeBytes { get; init; }

    /// <summary>The folder's files and those of its immediate subfolders (none for a LoRA file).</summary>
    public IReadOnlyList<KohyaForeignFile> Files { get; init; } = Array.Empty<KohyaForeignFile>();

    /// <summary>The model weights file, relative to the folder, when one was found.</summary>
    public string? ModelFile { get; init; }
    public bool HasOptimizerState { get; init; }
    public bool HasSchedulerState { get; init; }

    /// <summary>accelerate RNG state files (<c>random_states_&lt;process&gt;.pkl</c>).</summary>
    public IReadOnlyList<string> RandomStateFiles { get; init; } = Array.Empty<string>();

    /// <summary>sd-scripts state only: files outside the set accelerate and sd-scripts are known to write.</summary>
    public IReadOnlyList<string> ExtraFiles { get; init; } = Array.Empty<string>();

    /// <summary>The LoRA description: of the file itself, or of an sd-scripts state's model.safetensors when it holds kohya LoRA keys.</summary>
    public KohyaLoraInfo? Lora { get; init; }

    public IReadOnlyList<KohyaInteropFinding> Findings { get; init; } = Array.Empty<KohyaInteropFinding>();

    /// <summary>No finding of severity Error.</summary>
    public bool IsValid => Findings.All(f => f.Severity != KohyaFindingSeverity.Error);

    public override string ToString() => Path;
}
