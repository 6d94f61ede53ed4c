using System.Globalization;
using System.Text.Json;

namespace KohyaPS.Engine.Interop;

/// <summary>The <c>__metadata__</c> of an exported LoRA, spelled as sd-scripts' train_network.py and sai_model_spec.py spell it.</summary>
internal static class KohyaLoraMetadataBuilder
{
    public static void Validate(KohyaLoraExportSettings s)
    {
        Require(!string.IsNullOrWhiteSpace(s.OutputName), nameof(s.OutputName), "must not be empty");
        Require(s.GlobalStep >= 0, nameof(s.GlobalStep), "must not be negative");
        Require(s.Epoch >= 0, nameof(s.Epoch), "must not be negative");
        Require(double.IsFinite(s.LearningRate) && s.LearningRate >= 0, nameof(s.LearningRate), "must be a finite, non-negative number");
        Require(s.UNetLearningRate is null or >= 0 && (s.UNetLearningRate is null || double.IsFinite(s.UNetLearningRate.Value)), nameof(s.UNetLearningRate), "must be a finite, non-negative number");
        Require(s.TextEncoderLearningRate is null or >= 0 && (s.TextEncoderLearningRate is null || double.IsFinite(s.TextEncoderLearningRate.Value)), nameof(s.TextEncoderLearningRate), "must be a finite, non-negative number");
        Require(s.LrWarmupSteps >= 0, nameof(s.LrWarmupSteps), "must not be negative");
        Require(s.MaxTrainSteps >= 0, nameof(s.MaxTrainSteps), "must not be negative");
        Require(s.NumEpochs is null or >= 0, nameof(s.NumEpochs), "must not be negative");
        Require(s.SessionId >= 0, nameof(s.SessionId), "must not be negative");
        Require(s.NoiseOffset is null || double.IsFinite(s.NoiseOffset.Value), nameof(s.NoiseOffset), "must be finite");
        Require(s.MinSnrGamma is null || double.IsFinite(s.MinSnrGamma.Value), nameof(s.MinSnrGamma), "must be finite");
        Require(s.NetworkDim is null or > 0, nameof(s.NetworkDim), "must be positive");
        Require(s.NetworkAlpha is null || (double.IsFinite(s.NetworkAlpha.Value) && s.NetworkAlpha >= 0), nameof(s.NetworkAlpha), "must be a finite, non-negative number");
        Require(Enum.IsDefined(s.BaseModel), nameof(s.BaseModel), "is not a known base model");
        Require(Enum.IsDefined(s.SaveDtype), nameof(s.SaveDtype), "is not a known dtype");
        Require(s.LrScheduler is not null && s.Optimizer is not null && s.MixedPrecision is not null, nameof(s.LrScheduler), "LrScheduler, Optimizer and MixedPrecision must not be null");
        Require(s.TrainingStartedAt is null || s.TrainingStartedAt >= DateTimeOffset.UnixEpoch, nameof(s.TrainingStartedAt), "must be after 1970");
        Require(s.TrainingStartedAt is null || s.TrainingFinishedAt is null || s.TrainingFinishedAt >= s.TrainingStartedAt, nameof(s.TrainingFinishedAt), "must not be before TrainingStartedAt");
        Require(s.Resolution is null || IsResolution(s.Resolution), nameof(s.Resolution), "must look like 512x512");
        RequireJson(s.TagFrequencyJson, nameof(s.TagFrequencyJson));
        RequireJson(s.DatasetsJson, nameof(s.DatasetsJson));
    }

    public static Dictionary<string, string> Build(KohyaLoraExportSettings s, int networkDim, double networkAlpha, DateTimeOffset now)
    {
        var finished = s.TrainingFinishedAt ?? now;
        var (version, architecture, implementation, resolution, prediction, v2) = Describe(s.BaseModel);
        var m = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ss_session_id"] = PythonText.Int(s.SessionId),
            ["ss_training_started_at"] = s.TrainingStartedAt is { } started ? UnixSeconds(started) : PythonText.None,
            ["ss_training_finished_at"] = UnixSeconds(finished),
            ["ss_output_name"] = s.OutputName,
            ["ss_learning_rate"] = PythonText.Float(s.LearningRate),
            ["ss_unet_lr"] = PythonText.Float(s.UNetLearningRate),
            ["ss_text_encoder_lr"] = PythonText.Float(s.TextEncoderLearningRate),
            ["ss_max_train_steps"] = PythonText.Int(s.MaxTrainSteps),
            ["ss_lr_warmup_steps"] = PythonText.Int(s.LrWarmupSteps),
            ["ss_lr_scheduler"] = s.LrScheduler,
            ["ss_network_module"] = KohyaLoraExporter.NetworkModule,
            ["ss_network_dim"] = PythonText.Int(networkDim),
            ["ss_network_alpha"] = PythonText.Float(networkAlpha),
            ["ss_mixed_precision"] = s.MixedPrecision,
            ["ss_v2"] = PythonText.Bool(v2),
            ["ss_base_model_version"] = version,
            ["ss_seed"] = PythonText.Int(s.Seed),
            ["ss_noise_offset"] = PythonText.Float(s.NoiseOffset),
            ["ss_min_snr_gamma"] = PythonText.Float(s.MinSnrGamma),
            ["ss_optimizer"] = s.Optimizer,
            ["ss_steps"] = PythonText.Int(s.GlobalStep),
            ["ss_epoch"] = PythonText.Int(s.Epoch),
            ["modelspec.sai_model_spec"] = KohyaLoraExporter.ModelSpecVersion,
            ["modelspec.architecture"] = architecture,
            ["modelspec.implementation"] = implementation,
            ["modelspec.title"] = s.Title ?? s.OutputName,
            ["modelspec.resolution"] = s.Resolution ?? resolution,
            ["modelspec.prediction_type"] = prediction,
            // sai_model_spec.py: datetime.fromtimestamp(int(ts)).isoformat() — wall-clock time, whole seconds, no offset.
            ["modelspec.date"] = finished.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
        };
        if (s.NumEpochs is { } epochs) m["ss_num_epochs"] = PythonText.Int(epochs);
        if (s.TagFrequencyJson is not null) m["ss_tag_frequency"] = s.TagFrequencyJson;
        if (s.DatasetsJson is not null) m["ss_datasets"] = s.DatasetsJson;
        if (s.Author is not null) m["modelspec.author"] = s.Author;
        if (s.Description is not null) m["modelspec.description"] = s.Description;
        if (s.License is not null) m["modelspec.license"] = s.License;
        if (s.Tags is not null) m["modelspec.tags"] = s.Tags;
        if (s.ImplementationVersion is not null) m["modelspec.implementation_version"] = s.ImplementationVersion;

        foreach (var (key, value) in s.ExtraMetadata ?? new Dictionary<string, string>())
        {
            if (key is null || value is null)
                throw KohyaLoraExporter.Invalid("ExtraMetadata keys and values must not be null.", nameof(s.ExtraMetadata));
            if (m.ContainsKey(key) || key is KohyaLoraHashes.ModelHashKey or KohyaLoraHashes.LegacyHashKey)
                throw KohyaLoraExporter.Invalid($"ExtraMetadata key '{key}' is one the exporter writes itself.", key);
            m[key] = value;
        }
        return m;
    }

    private static (string Version, string Architecture, string Implementation, string Resolution, string Prediction, bool V2) Describe(KohyaBaseModel model) => model switch
    {
        KohyaBaseModel.StableDiffusion1 => ("sd_v1", "stable-diffusion-v1/lora", "diffusers", "512x512", "epsilon", false),
        KohyaBaseModel.StableDiffusion2 => ("sd_v2", "stable-diffusion-v2-512/lora", "diffusers", "512x512", "epsilon", true),
        KohyaBaseModel.StableDiffusion2V => ("sd_v2_v", "stable-diffusion-v2-768-v/lora", "diffusers", "768x768", "v", true),
        KohyaBaseModel.StableDiffusionXL => ("sdxl_base_v1-0", "stable-diffusion-xl-v1-base/lora", "https://github.com/Stability-AI/generative-models", "1024x1024", "epsilon", false),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, null),
    };

    /// <summary>Python <c>str(time.time())</c> for an instant.</summary>
    private static string UnixSeconds(DateTimeOffset t) => PythonText.Float((t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond);

    private static bool IsResolution(string s)
    {
        var parts = s.Split('x');
        return parts.Length == 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0);
    }

    private static void RequireJson(string? json, string name)
    {
        if (json is null)
            return;
        try
        {
            using var _ = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new KohyaException(InteropErrorIds.ExportInvalid, KohyaErrorKind.InvalidArgument, $"{name} is not valid JSON: {ex.Message}", ex, name);
        }
    }

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition)
            throw KohyaLoraExporter.Invalid($"Export setting {name} {problem}.", name);
    }
}
