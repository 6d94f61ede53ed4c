using KohyaPS.Contracts;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;
using KohyaPS.Engine.Native;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Resources;

/// <summary>What to estimate: a hyperparameter set plus the overrides Measure-KohyaTrainingResource offers.</summary>
public sealed record TrainingResourceRequest(KohyaHyperparameterSet Settings)
{
    public int? BatchSize { get; init; }
    public int? Resolution { get; init; }
    public string? Dtype { get; init; }
    /// <summary>Gradient checkpointing on or off; null: the set's Resources.GradientCheckpointing.</summary>
    public bool? GradientCheckpointing { get; init; }

    /// <summary>Bytes of device memory to compare against; null: none known.</summary>
    public long? DeviceMemoryBytes { get; init; }
}

/// <summary>
/// Estimates the memory and disk a training configuration needs, without allocating the model: parameter counts
/// come from building the models on the <c>meta</c> device, activations from <see cref="ActivationEstimator"/>.
/// The latent presets (sd15, tiny-sd) train on VAE latents smaller than the images by the VAE's factor (sd15: 8) and
/// count the VAE's weights; the pixel presets (tiny, small) have no VAE. The shapes are the ones training builds
/// (<see cref="ModelBlueprint"/>), Model.Path's own for a diffusers folder.
/// </summary>
public static class TrainingResourceEstimator
{
    private static readonly Dictionary<string, int> DtypeBytes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["float32"] = 4, ["fp32"] = 4, ["bfloat16"] = 2, ["bf16"] = 2, ["float16"] = 2, ["fp16"] = 2,
    };

    public static KohyaTrainingResourceEstimate Estimate(TrainingResourceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        TorchRuntime.EnsureLoaded(); // the counts come from models built on the meta device
        var s = request.Settings ?? throw new ArgumentException("The request has no hyperparameter set.", nameof(request));
        int batch = request.BatchSize ?? s.Data.BatchSize;
        int resolution = request.Resolution ?? s.Data.Resolution;
        string dtype = (request.Dtype ?? s.Resources.Dtype).Trim().ToLowerInvariant();
        bool checkpointing = request.GradientCheckpointing ?? s.Resources.GradientCheckpointing;
        if (!DtypeBytes.TryGetValue(dtype, out int elementBytes))
            throw Invalid("Dtype", $"'{dtype}' is not a compute dtype; use float32, bfloat16 or float16.");
        if (batch < 1)
            throw Invalid("BatchSize", $"the batch size must be at least 1, not {batch}.");

        var blueprint = Blueprint(s.Model);
        var unet = blueprint.UNet;
        var text = blueprint.TextEncoder;
        bool latent = blueprint.IsLatent;
        int factor = blueprint.Vae?.DownsampleFactor ?? 1;
        int multiple = blueprint.SizeMultiple;
        if (resolution < multiple || resolution % multiple != 0)
            throw Invalid("Resolution", $"the resolution must be a positive multiple of {multiple} for preset '{s.Model.Preset}', not {resolution}.");

        var unetShapes = unet.ParameterShapes();
        var textShapes = text.ParameterShapes();
        long unetParams = ModelParameterCount.FromShapes(unetShapes.Values).Parameters;
        long textParams = ModelParameterCount.FromShapes(textShapes.Values).Parameters;
        long vaeParams = blueprint.Vae?.CountParameters().Parameters ?? 0;
        bool lora = string.Equals(s.Network.Type, "lora", StringComparison.OrdinalIgnoreCase);
        bool trainText = s.Model.TrainTextEncoder;
        long trainable = lora ? Sum(LoraParameterCounter.Count(unet, text, s.Network, trainText)) : unetParams + (trainText ? textParams : 0);
        long baseParams = unetParams + textParams + vaeParams;
        // Full fine-tuning trains the base weights themselves; LoRA adds its own on top of a frozen base.
        long frozen = lora ? baseParams : baseParams - trainable;
        bool mixed = elementBytes != 4;
        // Mixed precision keeps a float32 master of every trainable weight and a float32 copy of what else a checkpoint
        // stores (the frozen text encoder of a full fine-tune); the low-precision gradients live until they reach the masters.
        long storedFrozen = !lora && !trainText ? textParams : 0;
        // The frozen VAE stays float32 whatever the compute dtype (it encodes and decodes outside the trained graph).
        long weightBytes = (frozen - vaeParams) * elementBytes + vaeParams * 4 + trainable * (elementBytes + (mixed ? 4 : 0)) + (mixed ? storedFrozen * 4 : 0);
        long gradientBytes = trainable * (4 + (mixed ? elementBytes : 0));
        long optimizerBytes = trainable * 4 * OptimizerSlots(s.Optimizer);

        long side = resolution / factor;
        long perSample = ActivationEstimator.UNetElements(unet, side, text.MaxLength, checkpointing);
        // With LoRA the text encoder still needs its activations when its LoRA layers train; a frozen encoder runs without gradients.
        if (trainText)
            perSample += ActivationEstimator.TextEncoderElements(text, gradientCheckpointing: false); // only the UNet's blocks are checkpointed
        long activationBytes = perSample * batch * elementBytes;

        long total = weightBytes + gradientBytes + optimizerBytes + activationBytes;
        long checkpointBytes = (lora ? trainable : unetParams + textParams) * 4 + optimizerBytes;
        return new KohyaTrainingResourceEstimate
        {
            Preset = s.Model.Preset.ToLowerInvariant(),
            Resolution = resolution,
            BatchSize = batch,
            Dtype = Canonical(dtype),
            GradientCheckpointing = checkpointing,
            NetworkType = lora ? "lora" : "none",
            Optimizer = s.Optimizer.Type,
            UNetParameters = unetParams,
            TextEncoderParameters = textParams,
            VaeParameters = vaeParams,
            TrainableParameters = trainable,
            WeightBytes = weightBytes,
            GradientBytes = gradientBytes,
            OptimizerStateBytes = optimizerBytes,
            ActivationBytes = activationBytes,
            TotalBytes = total,
            CheckpointBytes = checkpointBytes,
            DeviceMemoryBytes = request.DeviceMemoryBytes,
            Fits = request.DeviceMemoryBytes is long memory ? total <= memory : null,
            ActivationModel = ActivationEstimator.Description,
        };
    }

    /// <summary>
    /// The shapes training builds (<see cref="ModelBlueprint"/>). A latent preset's tokenizer is the one training uses
    /// (CLIP's files, or the byte-level alphabet); a pixel preset's word tokenizer is only known from the captions, so its
    /// preset's vocabulary size stands in.
    /// </summary>
    private static ModelBlueprint Blueprint(ModelSection model)
    {
        if (ModelBlueprint.IsLatentPreset(model.Preset))
        {
            var tokenizer = CaptionTokenizers.ForNewRun(model, Array.Empty<string>());
            return ModelBlueprint.For(model, tokenizer.VocabularySize, tokenizer.MaxLength);
        }
        return ModelBlueprint.For(model, TextEncoderConfig.FromPreset(model.Preset).VocabSize, model.MaxTokens);
    }

    /// <summary>
    /// The total memory of the CUDA device a set trains on (<c>Resources.Device</c> cuda or cuda:N), from the driver;
    /// null for the CPU or when the driver cannot be asked.
    /// </summary>
    public static long? DeviceMemoryFor(KohyaHyperparameterSet settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string device = settings.Resources.Device.Trim().ToLowerInvariant();
        if (!device.StartsWith("cuda", StringComparison.Ordinal))
            return null;
        int index = device.Length > 5 && int.TryParse(device.AsSpan(5), out int n) ? n : 0;
        return CudaMemoryProbe.TotalBytes(index);
    }

    /// <summary>float32 state tensors per parameter.</summary>
    public static int OptimizerSlots(OptimizerSection optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return optimizer.Type.ToLowerInvariant() switch
        {
            "adamw" or "adam" => 2,
            "lion" => 1,
            "sgd" => optimizer.Momentum != 0 ? 1 : 0,
            _ => throw Invalid("Optimizer.Type", $"'{optimizer.Type}' is not a known optimizer; use AdamW, Adam, SGD or Lion."),
        };
    }

    private static long Sum((long UNet, long TextEncoder) counts) => counts.UNet + counts.TextEncoder;

    private static string Canonical(string dtype) => dtype switch
    {
        "fp32" => "float32",
        "bf16" => "bfloat16",
        "fp16" => "float16",
        _ => dtype,
    };

    private static KohyaException Invalid(string target, string problem) =>
        new("InvalidResourceRequest", KohyaErrorKind.InvalidArgument, "Resource estimate: " + problem, target: target)
        {
            RecommendedAction = $"Correct {target}.",
        };
}
