namespace KohyaPS.Contracts;

/// <summary>The outcome of checking a stored hash (<c>sshs_model_hash</c>, <c>sshs_legacy_hash</c>) against the file.</summary>
public enum KohyaHashCheck
{
    /// <summary>The file stores no such hash.</summary>
    Absent,

    /// <summary>The stored hash was not compared (not asked for, or it cannot be recomputed for this file).</summary>
    NotChecked,

    /// <summary>The stored hash equals the one computed from the file.</summary>
    Match,

    /// <summary>The stored hash differs from the one computed from the file (or is not a hash at all).</summary>
    Mismatch,
}

/// <summary>Which model a LoRA module patches, from its key prefix.</summary>
public enum KohyaLoraComponent
{
    /// <summary><c>lora_unet_</c></summary>
    UNet,

    /// <summary><c>lora_te_</c> (SD 1.x / 2.x: one text encoder)</summary>
    TextEncoder,

    /// <summary><c>lora_te1_</c> (SDXL's first text encoder, CLIP ViT-L)</summary>
    TextEncoder1,

    /// <summary><c>lora_te2_</c> (SDXL's second text encoder, OpenCLIP ViT-bigG)</summary>
    TextEncoder2,
}

/// <summary>One LoRA module of a kohya-format file: the tensors named <c>&lt;Name&gt;.lora_down.weight</c>, <c>.lora_up.weight</c>, <c>.alpha</c>.</summary>
public sealed class KohyaLoraModuleInfo
{
    /// <summary>The kohya module name, e.g. <c>lora_unet_down_blocks_0_attentions_0_proj_in</c>.</summary>
    public string Name { get; init; } = "";
    public KohyaLoraComponent Component { get; init; }

    /// <summary>Rows of lora_down (its first dimension); null when lora_down is missing.</summary>
    public int? Rank { get; init; }

    /// <summary>The value of the module's alpha tensor; null when it has none (kohya then uses the rank).</summary>
    public double? Alpha { get; init; }

    /// <summary>True when lora_down is 4-D (a Conv2d module), false for Linear (2-D).</summary>
    public bool IsConvolution { get; init; }

    public bool HasDown { get; init; }
    public bool HasUp { get; init; }

    public override string ToString() => $"{Name} rank {Rank?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}";
}

/// <summary>
/// What a kohya-format LoRA <c>.safetensors</c> file holds: its modules, rank and alpha, training metadata
/// (<c>ss_*</c>), model-spec metadata (<c>modelspec.*</c>) and whether its stored hashes match its data.
/// </summary>
public sealed class KohyaLoraInfo
{
    public string Path { get; init; } = "";
    public long FileLength { get; init; }
    public int TensorCount { get; init; }

    public IReadOnlyList<KohyaLoraModuleInfo> Modules { get; init; } = Array.Empty<KohyaLoraModuleInfo>();
    public int UNetModuleCount { get; init; }

    /// <summary>Text-encoder modules, all encoders together (<c>lora_te_</c>, <c>lora_te1_</c>, <c>lora_te2_</c>).</summary>
    public int TextEncoderModuleCount { get; init; }

    /// <summary>The network dim (rank): <c>ss_network_dim</c> when it is a number, else the rank shared by most modules.</summary>
    public int? NetworkDim { get; init; }

    /// <summary>Where <see cref="NetworkDim"/> came from: "Metadata", "Tensors" or "None".</summary>
    public string NetworkDimSource { get; init; } = "None";

    /// <summary>Every distinct module rank, ascending.</summary>
    public IReadOnlyList<int> Ranks { get; init; } = Array.Empty<int>();

    /// <summary><c>ss_network_alpha</c> when it is a number, else the alpha shared by most modules.</summary>
    public double? NetworkAlpha { get; init; }

    /// <summary>Every distinct alpha tensor value, ascending.</summary>
    public IReadOnlyList<double> AlphaValues { get; init; } = Array.Empty<double>();

    /// <summary>Every <c>__metadata__</c> entry, as stored.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The <c>ss_*</c> entries (kohya training metadata).</summary>
    public IReadOnlyDictionary<string, string> TrainingMetadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The <c>modelspec.*</c> entries (Stability AI model spec).</summary>
    public IReadOnlyDictionary<string, string> ModelSpec { get; init; } = new Dictionary<string, string>();

    /// <summary><c>ss_steps</c>: optimizer steps of the run that wrote it (sd-scripts counts per run, not across resumes).</summary>
    public long? Steps { get; init; }
    public long? Epoch { get; init; }
    public double? LearningRate { get; init; }
    public string? NetworkModule { get; init; }
    public string? BaseModelVersion { get; init; }
    public string? OutputName { get; init; }
    public DateTimeOffset? TrainingStartedAt { get; init; }
    public DateTimeOffset? TrainingFinishedAt { get; init; }

    /// <summary>Outcome of comparing <c>sshs_model_hash</c> with the SHA-256 of the bytes after the header.</summary>
    public KohyaHashCheck ModelHashCheck { get; init; }
    public string? StoredModelHash { get; init; }

    /// <summary>SHA-256 (lower-case hex) of every byte after the header, when it was computed.</summary>
    public string? ComputedModelHash { get; init; }

    /// <summary>Outcome of comparing <c>sshs_legacy_hash</c> (see the engine's KohyaLoraHashes for how it is made).</summary>
    public KohyaHashCheck LegacyHashCheck { get; init; }
    public string? StoredLegacyHash { get; init; }
    public string? ComputedLegacyHash { get; init; }

    public IReadOnlyList<KohyaInteropFinding> Findings { get; init; } = Array.Empty<KohyaInteropFinding>();

    /// <summary>No finding of severity Error.</summary>
    public bool IsValid => Findings.All(f => f.Severity != KohyaFindingSeverity.Error);

    public override string ToString() => Path;
}
