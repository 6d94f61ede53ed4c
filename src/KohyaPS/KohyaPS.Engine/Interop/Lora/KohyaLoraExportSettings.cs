using System.Security.Cryptography;
using System.Text;

namespace KohyaPS.Engine.Interop;

/// <summary>The base model a LoRA was trained for; picks <c>ss_base_model_version</c>, <c>ss_v2</c> and the <c>modelspec.*</c> architecture.</summary>
public enum KohyaBaseModel
{
    /// <summary>SD 1.x: <c>sd_v1</c>, <c>stable-diffusion-v1/lora</c>, 512×512, epsilon.</summary>
    StableDiffusion1,

    /// <summary>SD 2.x base (epsilon): <c>sd_v2</c>, <c>stable-diffusion-v2-512/lora</c>, 512×512.</summary>
    StableDiffusion2,

    /// <summary>SD 2.x 768-v (v-prediction): <c>sd_v2_v</c>, <c>stable-diffusion-v2-768-v/lora</c>, 768×768.</summary>
    StableDiffusion2V,

    /// <summary>SDXL base: <c>sdxl_base_v1-0</c>, <c>stable-diffusion-xl-v1-base/lora</c>, 1024×1024.</summary>
    StableDiffusionXL,
}

/// <summary>Element type of the exported lora_down/lora_up weights (alphas stay float32 scalars).</summary>
public enum KohyaLoraSaveDtype
{
    Float32,
    Float16,
    BFloat16,
}

/// <summary>
/// What the exporter writes besides the tensors: the kohya <c>ss_*</c> training metadata and the <c>modelspec.*</c>
/// entries. Values are written as sd-scripts writes them (Python <c>str()</c> of the value, <c>None</c> when unset).
/// </summary>
public sealed record KohyaLoraExportSettings
{
    /// <summary><c>ss_output_name</c>, and <c>modelspec.title</c> unless <see cref="Title"/> is given.</summary>
    public required string OutputName { get; init; }

    /// <summary><c>ss_steps</c>: the cumulative global step (across resumes) of the weights being exported.</summary>
    public required long GlobalStep { get; init; }

    /// <summary><c>ss_epoch</c>.</summary>
    public long Epoch { get; init; }

    /// <summary><c>ss_learning_rate</c>.</summary>
    public double LearningRate { get; init; }

    /// <summary><c>ss_unet_lr</c> (<c>None</c> when null, as sd-scripts writes an unset value).</summary>
    public double? UNetLearningRate { get; init; }

    /// <summary><c>ss_text_encoder_lr</c> (<c>None</c> when null).</summary>
    public double? TextEncoderLearningRate { get; init; }

    /// <summary><c>ss_lr_scheduler</c>, e.g. <c>constant</c>, <c>cosine</c>.</summary>
    public string LrScheduler { get; init; } = "constant";

    /// <summary><c>ss_lr_warmup_steps</c>.</summary>
    public long LrWarmupSteps { get; init; }

    /// <summary><c>ss_optimizer</c>, e.g. <c>AdamW</c> (sd-scripts writes the class name, with its args in parentheses).</summary>
    public string Optimizer { get; init; } = "AdamW";

    /// <summary><c>ss_seed</c>.</summary>
    public long Seed { get; init; }

    /// <summary><c>ss_max_train_steps</c>.</summary>
    public long MaxTrainSteps { get; init; }

    /// <summary><c>ss_num_epochs</c>; not written when null.</summary>
    public long? NumEpochs { get; init; }

    /// <summary><c>ss_noise_offset</c> (<c>None</c> when null).</summary>
    public double? NoiseOffset { get; init; }

    /// <summary><c>ss_min_snr_gamma</c> (<c>None</c> when null).</summary>
    public double? MinSnrGamma { get; init; }

    /// <summary><c>ss_mixed_precision</c>, e.g. <c>no</c>, <c>fp16</c>, <c>bf16</c>.</summary>
    public string MixedPrecision { get; init; } = "no";

    public KohyaBaseModel BaseModel { get; init; } = KohyaBaseModel.StableDiffusion1;

    /// <summary>
    /// <c>ss_session_id</c>: sd-scripts draws a random integer in [0, 2^32] per training process. Pass one that is stable
    /// for the run, e.g. <see cref="SessionIdFrom"/> of the run id.
    /// </summary>
    public long SessionId { get; init; }

    /// <summary><c>ss_training_started_at</c>, written as Unix seconds (Python <c>time.time()</c>); <c>None</c> when null.</summary>
    public DateTimeOffset? TrainingStartedAt { get; init; }

    /// <summary><c>ss_training_finished_at</c> (Unix seconds) and <c>modelspec.date</c>; the export time when null.</summary>
    public DateTimeOffset? TrainingFinishedAt { get; init; }

    /// <summary><c>ss_network_dim</c>; when null, the rank all modules share (the export fails if ranks differ).</summary>
    public int? NetworkDim { get; init; }

    /// <summary>
    /// <c>ss_network_alpha</c>, and the alpha of any module given without an alpha tensor; when null, the alpha all
    /// modules' alpha tensors share.
    /// </summary>
    public double? NetworkAlpha { get; init; }

    /// <summary><c>ss_tag_frequency</c>: JSON, written when given (must parse).</summary>
    public string? TagFrequencyJson { get; init; }

    /// <summary><c>ss_datasets</c>: JSON, written when given (must parse).</summary>
    public string? DatasetsJson { get; init; }

    /// <summary><c>modelspec.title</c>; <see cref="OutputName"/> when null.</summary>
    public string? Title { get; init; }

    /// <summary><c>modelspec.resolution</c> as <c>WIDTHxHEIGHT</c>; the base model's default when null.</summary>
    public string? Resolution { get; init; }

    /// <summary>Optional <c>modelspec.author</c>, <c>.description</c>, <c>.license</c>, <c>.tags</c>, <c>.implementation_version</c>.</summary>
    public string? Author { get; init; }
    public string? Description { get; init; }
    public string? License { get; init; }
    public string? Tags { get; init; }
    public string? ImplementationVersion { get; init; }

    /// <summary>Element type of the weights in the file.</summary>
    public KohyaLoraSaveDtype SaveDtype { get; init; } = KohyaLoraSaveDtype.Float16;

    /// <summary>More metadata (e.g. <c>kohyaps.*</c>); a key the exporter writes itself is refused.</summary>
    public IReadOnlyDictionary<string, string>? ExtraMetadata { get; init; }

    /// <summary>A stable <c>ss_session_id</c> in [0, 2^32) from a run id: the first 4 bytes of its UTF-8 SHA-256.</summary>
    public static long SessionIdFrom(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(runId));
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(hash);
    }
}

/// <summary>What the exporter wrote.</summary>
/// <param name="ModelHash">The <c>sshs_model_hash</c> written (SHA-256 of the data after the header).</param>
/// <param name="LegacyHash">The <c>sshs_legacy_hash</c> written, or null when it could not be reproduced (header of 1 MiB or more).</param>
public sealed record KohyaLoraExportResult(
    string Path,
    long FileLength,
    int TensorCount,
    int ModuleCount,
    int NetworkDim,
    double NetworkAlpha,
    string ModelHash,
    string? LegacyHash,
    IReadOnlyDictionary<string, string> Metadata);
