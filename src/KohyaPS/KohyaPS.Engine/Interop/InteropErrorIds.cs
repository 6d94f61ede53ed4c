namespace KohyaPS.Engine.Interop;

/// <summary>
/// Stable error ids of the foreign-format readers and the LoRA exporter: both the ids of thrown
/// <see cref="KohyaException"/>s and those of <see cref="KohyaPS.Contracts.KohyaInteropFinding"/>s. Safetensors format
/// violations keep their own ids (<see cref="Checkpoints.Safetensors.SafetensorsErrorIds"/>).
/// </summary>
public static class InteropErrorIds
{
    // ---- kohya LoRA file findings ----

    /// <summary>Error: the file has no tensor named like a kohya LoRA module (<c>lora_unet_…</c>, <c>lora_te…_</c>).</summary>
    public const string LoraNoModules = "KohyaLoraNoModules";

    /// <summary>Error: a module has <c>lora_down.weight</c> but no <c>lora_up.weight</c>.</summary>
    public const string LoraMissingUp = "KohyaLoraMissingUp";

    /// <summary>Error: a module has <c>lora_up.weight</c> but no <c>lora_down.weight</c>.</summary>
    public const string LoraMissingDown = "KohyaLoraMissingDown";

    /// <summary>Warning: a module has no <c>alpha</c> (loaders then use the rank, i.e. scale 1).</summary>
    public const string LoraMissingAlpha = "KohyaLoraMissingAlpha";

    /// <summary>Error: lora_up's second dimension is not lora_down's first (the two ranks disagree).</summary>
    public const string LoraRankMismatch = "KohyaLoraRankMismatch";

    /// <summary>Error: a lora_down/lora_up is not 2-D (Linear) or 4-D (Conv2d), or an alpha holds more than one value.</summary>
    public const string LoraUnexpectedShape = "KohyaLoraUnexpectedShape";

    /// <summary>Error: a LoRA tensor is not a floating-point type (F16, BF16, F32, F64).</summary>
    public const string LoraUnexpectedDtype = "KohyaLoraUnexpectedDtype";

    /// <summary>Error: an alpha is NaN or infinite.</summary>
    public const string LoraAlphaNotFinite = "KohyaLoraAlphaNotFinite";

    /// <summary>Warning: a tensor is not one of the three kohya LoRA tensors (e.g. a LyCORIS/DoRA tensor or an unrelated key).</summary>
    public const string LoraUnrecognizedTensor = "KohyaLoraUnrecognizedTensor";

    /// <summary>Information: modules have different ranks (normal with block-wise dims or conv dims).</summary>
    public const string LoraRanksVary = "KohyaLoraRanksVary";

    /// <summary>Warning: <c>ss_network_dim</c> is not the rank of any module.</summary>
    public const string LoraDimMismatch = "KohyaLoraDimMismatch";

    /// <summary>Warning: <c>ss_network_alpha</c> is not the alpha of any module.</summary>
    public const string LoraAlphaMismatch = "KohyaLoraAlphaMismatch";

    /// <summary>Warning: a well-known <c>ss_*</c> value does not parse as the type sd-scripts writes (a number, a timestamp).</summary>
    public const string LoraMetadataInvalid = "KohyaLoraMetadataInvalid";

    /// <summary>Error: <c>sshs_model_hash</c> is not the SHA-256 of the bytes after the header (data damaged or edited).</summary>
    public const string LoraHashMismatch = "KohyaLoraHashMismatch";

    /// <summary>Warning: <c>sshs_legacy_hash</c> does not match (also happens for files written with safetensors before 0.3.1).</summary>
    public const string LoraLegacyHashMismatch = "KohyaLoraLegacyHashMismatch";

    // ---- sd-scripts train_state.json (thrown by SdScriptsTrainState.Parse, reported as findings by the detector) ----

    /// <summary>train_state.json is not JSON, not an object, has a duplicate key, or is too large.</summary>
    public const string TrainStateInvalidJson = "SdScriptsTrainStateInvalidJson";

    /// <summary>train_state.json lacks <c>current_epoch</c> or <c>current_step</c>.</summary>
    public const string TrainStateMissingField = "SdScriptsTrainStateMissingField";

    /// <summary><c>current_epoch</c>/<c>current_step</c> is not a JSON integer (string, float, bool, null, too large).</summary>
    public const string TrainStateWrongType = "SdScriptsTrainStateWrongType";

    /// <summary><c>current_epoch</c>/<c>current_step</c> is negative.</summary>
    public const string TrainStateNegative = "SdScriptsTrainStateNegative";

    // ---- foreign checkpoint folder findings ----

    /// <summary>Warning: an sd-scripts state folder has no train_state.json (written by sd-scripts before it existed, or damaged).</summary>
    public const string StateTrainStateMissing = "SdScriptsTrainStateMissing";

    /// <summary>Error: an sd-scripts state folder has neither model.safetensors nor pytorch_model.bin.</summary>
    public const string StateModelMissing = "SdScriptsStateModelMissing";

    /// <summary>Warning: no optimizer.bin (resuming would restart the optimizer moments).</summary>
    public const string StateOptimizerMissing = "SdScriptsStateOptimizerMissing";

    /// <summary>Warning: no scheduler.bin (resuming would restart the LR schedule).</summary>
    public const string StateSchedulerMissing = "SdScriptsStateSchedulerMissing";

    /// <summary>Warning: no random_states_*.pkl (resuming would not restore the RNG).</summary>
    public const string StateRandomStatesMissing = "SdScriptsStateRandomStatesMissing";

    /// <summary>Warning: the step or epoch in the folder name differs from train_state.json.</summary>
    public const string StateNameMismatch = "SdScriptsStateNameMismatch";

    /// <summary>Warning: a diffusers checkpoint-N folder holds no weights file or model subfolder.</summary>
    public const string DiffusersNoWeights = "DiffusersCheckpointNoWeights";

    /// <summary>Warning: a OneTrainer backup's meta.json is missing, unreadable or disagrees with the folder name.</summary>
    public const string OneTrainerMetaInvalid = "OneTrainerBackupMetaInvalid";

    /// <summary>Error: a folder or file could not be listed or read (permissions, I/O).</summary>
    public const string Unreadable = "ForeignCheckpointUnreadable";

    // ---- thrown ----

    /// <summary>Thrown: the path given to the reader or detector does not exist.</summary>
    public const string PathNotFound = "ForeignCheckpointPathNotFound";

    /// <summary>Thrown: the tensors or settings given to the exporter cannot make a valid kohya LoRA.</summary>
    public const string ExportInvalid = "KohyaLoraExportInvalid";

    /// <summary>Thrown: the export target exists and overwriting was not asked for.</summary>
    public const string ExportExists = "KohyaLoraExportExists";

    /// <summary>Thrown: a tensor name does not map (unknown module path, wrong prefix or suffix, or two paths that collide).</summary>
    public const string KeyNotMapped = "KohyaLoraKeyNotMapped";
}
