namespace KohyaPS.Contracts;

/// <summary>One checkpoint as Get-KohyaCheckpoint lists it; pipes into Test- and Resume-KohyaTraining.</summary>
public sealed class KohyaCheckpointInfo
{
    /// <summary>The checkpoint folder (the property Resume-/Test-KohyaCheckpoint bind to).</summary>
    public string Path { get; init; } = "";
    public string Name { get; init; } = "";

    /// <summary>The run folder holding it.</summary>
    public string RunPath { get; init; } = "";
    public string Run { get; init; } = "";

    /// <summary>Cumulative optimizer steps done when it was written.</summary>
    public long Step { get; init; }
    public int Epoch { get; init; }
    public DateTime Created { get; init; }
    public long SizeBytes { get; init; }

    /// <summary>Every expected file is present and the checksum list was written (the last file of a save).</summary>
    public bool IsComplete { get; init; }

    /// <summary>Renamed aside by resume after failing verification; never resumed from.</summary>
    public bool IsQuarantined { get; init; }

    /// <summary>Format: KohyaPS, SdScriptsState, DiffusersCheckpoint, OneTrainerBackup or KohyaLora.</summary>
    public string Format { get; init; } = "KohyaPS";

    /// <summary>Smoothed training loss at the save, when known.</summary>
    public double? Loss { get; init; }

    /// <summary>The validation loss measured at this checkpoint's step, when validation ran there.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>The checkpoint with the lowest validation loss of its run (recorded in the run's best.json).</summary>
    public bool IsBest { get; init; }

    public KohyaHyperparameterSet? HyperparameterSet { get; init; }

    public KohyaLineage? Lineage { get; init; }

    /// <summary>For checkpoints written by other trainers (Format other than KohyaPS): what was found, file by file.</summary>
    public KohyaForeignCheckpointInfo? Foreign { get; init; }

    /// <summary>For a kohya LoRA file (or a state whose model is a LoRA): its modules, dim, alpha, ss_* metadata, hash checks.</summary>
    public KohyaLoraInfo? Lora => Foreign?.Lora;

    public override string ToString() => Path;
}

/// <summary>Where a checkpoint comes from: its run, segment, parent and what was changed on the way.</summary>
public sealed class KohyaLineage
{
    public string CheckpointId { get; init; } = "";
    public string? ParentCheckpointId { get; init; }
    public string RunId { get; init; } = "";
    public string SegmentId { get; init; } = "";
    public DateTime SegmentStartedUtc { get; init; }
    public IReadOnlyList<KohyaSegment> Segments { get; init; } = Array.Empty<KohyaSegment>();
}

/// <summary>One uninterrupted stretch of training: a fresh start or one resume.</summary>
public sealed class KohyaSegment
{
    public string SegmentId { get; init; } = "";
    public DateTime StartedUtc { get; init; }
    public long StartStep { get; init; }
    public string? ResumedFrom { get; init; }
    public IReadOnlyList<string> Overrides { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
}
