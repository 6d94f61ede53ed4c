using System.Globalization;
using KohyaPS.Engine.Optim;
using KohyaPS.Engine.Precision;
using KohyaPS.Engine.Training;
using static KohyaPS.Engine.Hyperparameters.Interop.KohyaConfigFormat;

namespace KohyaPS.Engine.Hyperparameters.Interop;

/// <summary>One key of a kohya configuration that KohyaPS maps, in the format(s) where it has that meaning.</summary>
internal sealed record KohyaKey(string Key, KohyaConfigFormat[] Formats, Action<ImportContext, string, object?> Map);

/// <summary>A key KohyaPS knows but has no option for: why, and the value at which it asks for nothing.</summary>
internal sealed record KnownKey(string Reason, object? Inert = null, bool NeverActive = false);

/// <summary>
/// The mapping from kohya_ss GUI JSON keys and sd-scripts arguments to hyperparameter options, in the order it
/// is applied (about_KohyaPS_Hyperparameters documents it; a test checks that every key here is documented).
/// </summary>
internal static class KohyaKeyMap
{
    private static readonly KohyaConfigFormat[] Both = { KohyaSsJson, SdScripts };
    private static readonly KohyaConfigFormat[] Gui = { KohyaSsJson };
    private static readonly KohyaConfigFormat[] Sd = { SdScripts };

    public static IReadOnlyList<KohyaKey> Keys { get; } = new List<KohyaKey>
    {
        new("pretrained_model_name_or_path", Both, BaseModel),
        new("max_token_length", Both, MaxTokenLength),
        new("train_text_encoder", Both, Direct("Model.TrainTextEncoder")),
        new("network_train_unet_only", Both, (c, k, v) => WithBool(c, k, v, "Model.TrainTextEncoder", b => !b)),
        new("LoRA_type", Gui, (c, k, v) => NetworkType(c, k, v, "Standard")),
        new("network_module", Sd, (c, k, v) => NetworkType(c, k, v, "networks.lora")),
        new("network_dim", Both, Direct("Network.Dim")),
        new("network_alpha", Both, Direct("Network.Alpha")),
        new("unet_lr", Both, ZeroIsUnset("Network.UnetLearningRate")),
        new("text_encoder_lr", Both, ZeroIsUnset("Network.TextEncoderLearningRate")),

        new("optimizer", Gui, OptimizerType),
        new("optimizer_type", Sd, OptimizerType),
        new("learning_rate", Both, Direct("Optimizer.LearningRate")),
        new("optimizer_args", Both, OptimizerArgs.Map),
        new("max_grad_norm", Both, Direct("Optimizer.MaxGradNorm")),

        new("lr_scheduler", Both, Schedule),
        new("lr_warmup", Gui, WarmupPercent),
        new("lr_warmup_steps", Both, WarmupSteps),
        new("lr_scheduler_num_cycles", Both, Direct("LRSchedule.NumCycles")),
        new("lr_scheduler_power", Both, Direct("LRSchedule.Power")),

        new("noise_offset", Both, NoiseOffset),
        new("min_snr_gamma", Both, Direct("Diffusion.MinSnrGamma")),
        new("v_parameterization", Both, (c, k, v) => WithBool(c, k, v, "Diffusion.PredictionType", b => b ? "v_prediction" : "epsilon")),

        new("max_resolution", Gui, Resolution),
        new("resolution", Sd, Resolution),
        new("train_batch_size", Both, Direct("Data.BatchSize")),
        new("gradient_accumulation_steps", Both, Direct("Data.GradientAccumulationSteps")),
        new("enable_bucket", Both, Direct("Data.EnableBucket")),
        new("min_bucket_reso", Both, Direct("Data.MinBucketReso")),
        new("max_bucket_reso", Both, Direct("Data.MaxBucketReso")),
        new("bucket_reso_steps", Both, Direct("Data.BucketResoSteps")),
        new("bucket_no_upscale", Both, Direct("Data.BucketNoUpscale")),
        new("flip_aug", Both, Direct("Data.FlipAug")),
        new("shuffle_caption", Both, Direct("Data.ShuffleCaption")),
        new("keep_tokens", Both, Direct("Data.KeepTokens")),
        new("caption_dropout_rate", Both, Direct("Data.CaptionDropoutRate")),
        new("caption_extension", Both, Direct("Data.CaptionExtension")),
        new("cache_latents", Both, CacheLatents),
        new("cache_latents_to_disk", Both, CacheLatents),

        new("mixed_precision", Both, MixedPrecision),
        new("gradient_checkpointing", Both, Direct("Resources.GradientCheckpointing")),

        new("max_train_steps", Both, ZeroIsUnset("Training.MaxSteps")),
        new("seed", Both, Direct("Training.Seed")),

        new("save_every_n_steps", Both, Direct("Saving.SaveEveryNSteps")),
        new("save_every_n_epochs", Both, Direct("Saving.SaveEveryNEpochs")),
        new("save_last_n_epochs", Both, Direct("Saving.KeepLast")),

        new("sample_prompts", Gui, (c, k, v) => c.Apply(k, "Sampling.Prompts", v is System.Collections.IList ? v
            : Convert.ToString(v, CultureInfo.InvariantCulture)!.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray())),
        new("sample_prompts", Sd, Direct("Sampling.PromptsFile")),
        new("sample_every_n_steps", Both, Direct("Sampling.SampleEveryNSteps")),
        new("sample_every_n_epochs", Both, Direct("Sampling.SampleEveryNEpochs")),
        new("sample_sampler", Both, Direct("Sampling.Sampler")),
    };

    /// <summary>kohya's default and CLIP's single chunk: 75 tokens between the start and end tokens.</summary>
    private const int KohyaTokens = 75;

    private const string NotAHyperparameter = "not a hyperparameter";
    private const string SpeedOnly = "speed or memory only; no effect on what is trained";
    private const string LoggingOnly = "logging or upload only; no effect on what is trained";
    private const string NotAvailable = "not available in this version";
    private const string HalfWeights = "half-precision weights are " + NotAvailable
        + ": KohyaPS always keeps float32 master weights; mixed_precision sets the compute dtype (Resources.Dtype)";

    /// <summary>Keys with no option, and why; any other unmapped key gets "no KohyaPS option".</summary>
    public static IReadOnlyDictionary<string, KnownKey> Known { get; } = new Dictionary<string, KnownKey>(StringComparer.Ordinal)
    {
        ["model_list"] = new("the kohya_ss GUI's model picker; pretrained_model_name_or_path names the model", NeverActive: true),
        ["vae"] = new("a separate VAE is not loaded: the model's own VAE (pretrained_model_name_or_path) encodes the images"),
        ["v2"] = new("Stable Diffusion 2 models are " + NotAvailable + " (KohyaPS loads Stable Diffusion 1.x)"),
        ["sdxl"] = new("SDXL models are " + NotAvailable + " (KohyaPS loads Stable Diffusion 1.x)"),
        ["train_data_dir"] = new(NotAHyperparameter + ": give the dataset to -DatasetPath"),
        ["reg_data_dir"] = new(NotAHyperparameter + ": regularisation images are a subset of the dataset (-DatasetPath, is_reg)"),
        ["dataset_config"] = new(NotAHyperparameter + ": give the dataset TOML to -DatasetPath"),
        ["output_dir"] = new(NotAHyperparameter + ": give the run folder to -OutputPath"),
        ["output_name"] = new(NotAHyperparameter + ": the run is named after its folder (-OutputPath)"),
        ["logging_dir"] = new(NotAHyperparameter + ": the loss log is <run>/logs/train.jsonl"),
        ["resume"] = new(NotAHyperparameter + ": continue a run with Resume-KohyaTraining"),
        ["epoch"] = new("KohyaPS counts a run's length in optimizer steps: set Training.MaxSteps (epochs x images x repeats / batch size)"),
        ["max_train_epochs"] = new("KohyaPS counts a run's length in optimizer steps: set Training.MaxSteps (epochs x images x repeats / batch size)"),
        ["save_state"] = new("KohyaPS always saves the full training state", Inert: true),
        ["save_model_as"] = new("checkpoints are always safetensors", Inert: "safetensors"),
        ["save_precision"] = new("checkpoints keep the float32 master weights", Inert: "float"),
        ["save_last_n_steps"] = new("KohyaPS keeps checkpoints by count (Saving.KeepLast, Saving.KeepEvery), not by a window of steps"),
        ["loss_type"] = new("KohyaPS trains with the L2 (mean squared error) loss", Inert: "l2"),
        ["prior_loss_weight"] = new("regularisation images count with weight 1", Inert: 1.0),
        ["noise_offset_type"] = new("only the original offset noise is available (Multires noise is not)", Inert: "Original"),
        ["clip_skip"] = new("clip skip is " + NotAvailable, Inert: 1.0),
        ["color_aug"] = new("colour augmentation is " + NotAvailable),
        ["random_crop"] = new("random crops are " + NotAvailable),
        ["full_fp16"] = new(HalfWeights),
        ["full_bf16"] = new(HalfWeights),
        ["learning_rate_te"] = new("a separate text encoder rate is " + NotAvailable + " for full training; the text encoder uses Optimizer.LearningRate"),
        ["learning_rate_te1"] = new("SDXL text encoder rates are " + NotAvailable),
        ["learning_rate_te2"] = new("SDXL text encoder rates are " + NotAvailable),
        ["stop_text_encoder_training"] = new("stopping text encoder training part-way is " + NotAvailable),
        ["network_args"] = new("network arguments (conv layers, block dims, dropout) are " + NotAvailable),
        ["network_dropout"] = new("network dropout is " + NotAvailable),
        ["xformers"] = new(SpeedOnly, NeverActive: true),
        ["sdpa"] = new(SpeedOnly, NeverActive: true),
        ["mem_eff_attn"] = new(SpeedOnly, NeverActive: true),
        ["max_data_loader_n_workers"] = new(SpeedOnly, NeverActive: true),
        ["persistent_data_loader_workers"] = new(SpeedOnly, NeverActive: true),
        ["num_cpu_threads_per_process"] = new(SpeedOnly + " here (Resources.Threads sets libtorch's threads)", NeverActive: true),
        ["vae_batch_size"] = new(SpeedOnly, NeverActive: true),
        ["lowram"] = new(SpeedOnly, NeverActive: true),
        ["log_with"] = new(LoggingOnly, NeverActive: true),
        ["log_prefix"] = new(LoggingOnly, NeverActive: true),
        ["log_tracker_name"] = new(LoggingOnly, NeverActive: true),
        ["log_tracker_config"] = new(LoggingOnly, NeverActive: true),
        ["use_wandb"] = new(LoggingOnly, NeverActive: true),
        ["wandb_api_key"] = new(LoggingOnly, NeverActive: true),
        ["wandb_run_name"] = new(LoggingOnly, NeverActive: true),
        ["training_comment"] = new(LoggingOnly, NeverActive: true),
    };

    private static Action<ImportContext, string, object?> Direct(string option) => (c, k, v) => c.Apply(k, option, v);

    /// <summary>0 means "not set" (the GUI writes 0 for "use the default"), anything else maps.</summary>
    private static Action<ImportContext, string, object?> ZeroIsUnset(string option) => (c, k, v) =>
    {
        if (ImportContext.IsOff(v) && v is not bool)
            c.NotApplied(k, v, $"0 means not set; {option} keeps its default", active: false);
        else
            c.Apply(k, option, v);
    };

    private static void WithBool(ImportContext c, string key, object? value, string option, Func<bool, object> map) =>
        c.Apply(key, option, map(Bool(c, key, value)));

    private static bool Bool(ImportContext c, string key, object? value) =>
        HyperparameterValues.TryConvert(value, typeof(bool), out var b) ? (bool)b! : throw c.Invalid(key, value, "true or false");

    /// <summary>
    /// kohya's SD 1.x base model: the weights (a diffusers folder or a single file, as given) on the sd15 preset, with
    /// kohya's caption length (75 tokens plus start and end; max_token_length, applied next, may change it). A v2 or
    /// sdxl configuration names a model KohyaPS cannot load, so it is not applied rather than trained as SD 1.x.
    /// </summary>
    private static void BaseModel(ImportContext c, string key, object? value)
    {
        string? other = new[] { "v2", "sdxl" }.FirstOrDefault(k => c.Raw.TryGetValue(k, out var flag) && !ImportContext.IsOff(flag));
        if (other is not null)
        {
            c.NotApplied(key, value, $"{other} is true: the model is {(other == "v2" ? "Stable Diffusion 2" : "SDXL")}, which is {NotAvailable}; Model.Preset stays {c.Set.Model.Preset}");
            return;
        }
        c.Apply(key, "Model.Path", value);
        c.Apply(key, "Model.Preset", "sd15");
        c.Apply(key, "Model.MaxTokens", KohyaTokens + 2);
    }

    private static void MaxTokenLength(ImportContext c, string key, object? value)
    {
        if (!HyperparameterValues.TryConvert(value, typeof(int), out var n) || (int)n! < 1)
            throw c.Invalid(key, value, $"a caption length in tokens ({KohyaTokens}, 150 or 225)");
        if ((int)n <= KohyaTokens)
            c.Apply(key, "Model.MaxTokens", (int)n + 2);
        else
            c.NotApplied(key, value, $"captions over {KohyaTokens} tokens need encoding in several {KohyaTokens}-token chunks, which is {NotAvailable}; Model.MaxTokens stays {c.Set.Model.MaxTokens}");
    }

    /// <summary>cache_latents and cache_latents_to_disk: KohyaPS's one cache (on disk), for latent presets only.</summary>
    private static void CacheLatents(ImportContext c, string key, object? value)
    {
        if (!Bool(c, key, value))
            c.NotApplied(key, value, "false: latents are not cached", active: false);
        else if (!ModelBlueprint.IsLatentPreset(c.Set.Model.Preset ?? ""))
            c.NotApplied(key, value, $"caching latents needs a latent model (pretrained_model_name_or_path, or Model.Preset sd15 or tiny-sd); Model.Preset {c.Set.Model.Preset} trains on pixels, which need no encoding");
        else
            c.Apply(key, "Data.CacheLatents", true);
    }

    private static void NetworkType(ImportContext c, string key, object? value, string lora)
    {
        string text = Convert.ToString(value, CultureInfo.InvariantCulture)!.Trim();
        if (text.Equals(lora, StringComparison.OrdinalIgnoreCase))
            c.Apply(key, "Network.Type", "lora");
        else
            c.NotApplied(key, value, $"only standard LoRA ({lora}) is known to KohyaPS; Network.Type stays {c.Set.Network.Type}");
    }

    private static void OptimizerType(ImportContext c, string key, object? value)
    {
        string text = Convert.ToString(value, CultureInfo.InvariantCulture)!.Trim();
        string name = text.StartsWith("torch.optim.", StringComparison.OrdinalIgnoreCase) ? text["torch.optim.".Length..]
            : text.StartsWith("lion_pytorch.", StringComparison.OrdinalIgnoreCase) ? text["lion_pytorch.".Length..] : text;
        if (name.Equals("SGDNesterov", StringComparison.OrdinalIgnoreCase))
        {
            // sd-scripts: SGD with nesterov=True and momentum 0.9 unless optimizer_args says otherwise.
            c.Apply(key, "Optimizer.Type", OptimizerFactory.Sgd);
            c.Apply(key, "Optimizer.Nesterov", true);
            c.Apply(key, "Optimizer.Momentum", 0.9);
            return;
        }
        var known = OptimizerFactory.Names.FirstOrDefault(n => n.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (known is null)
            c.NotApplied(key, value, $"the optimizer is not available (KohyaPS has {string.Join(", ", OptimizerFactory.Names)}); Optimizer.Type stays {c.Set.Optimizer.Type}");
        else
            c.Apply(key, "Optimizer.Type", known);
    }

    private static void Schedule(ImportContext c, string key, object? value)
    {
        string text = Convert.ToString(value, CultureInfo.InvariantCulture)!.Trim();
        var known = LrSchedule.Names.FirstOrDefault(n => n.Equals(text, StringComparison.OrdinalIgnoreCase));
        if (known is null)
            c.NotApplied(key, value, $"the schedule is not available (KohyaPS has {string.Join(", ", LrSchedule.Names)}); LRSchedule.Name stays {c.Set.LRSchedule.Name}");
        else
            c.Apply(key, "LRSchedule.Name", known);
    }

    /// <summary>The GUI's warm-up in percent of max_train_steps (its lr_warmup_steps, when above 0, wins).</summary>
    private static void WarmupPercent(ImportContext c, string key, object? value)
    {
        if (!HyperparameterValues.TryConvert(value, typeof(double), out var p))
            throw c.Invalid(key, value, "a percentage");
        double percent = (double)p!;
        if (percent == 0)
            c.NotApplied(key, value, "no warm-up", active: false);
        else if (Number(c, "lr_warmup_steps") is > 0)
            c.NotApplied(key, value, "lr_warmup_steps is given and wins, as in the kohya_ss GUI", active: false);
        else if (Number(c, "max_train_steps") is { } total and > 0)
            c.Apply(key, "LRSchedule.WarmupSteps", Math.Round(percent * total / 100, MidpointRounding.ToEven));
        else
            c.NotApplied(key, value, "a warm-up in percent needs max_train_steps; set LRSchedule.WarmupSteps");
    }

    /// <summary>Steps; sd-scripts also takes a float below 1 as a ratio of max_train_steps.</summary>
    private static void WarmupSteps(ImportContext c, string key, object? value)
    {
        if (c.Format == SdScripts && HyperparameterValues.TryConvert(value, typeof(double), out var r) && (double)r! is > 0 and < 1)
        {
            if (Number(c, "max_train_steps") is { } total and > 0)
                c.Apply(key, "LRSchedule.WarmupSteps", Math.Floor((double)r * total)); // int() in sd-scripts
            else
                c.NotApplied(key, value, "a warm-up ratio needs max_train_steps; set LRSchedule.WarmupSteps");
            return;
        }
        c.Apply(key, "LRSchedule.WarmupSteps", value);
    }

    private static void NoiseOffset(ImportContext c, string key, object? value)
    {
        if (c.Format == KohyaSsJson && c.Raw.GetValueOrDefault("noise_offset_type") is string type && !type.Equals("Original", StringComparison.OrdinalIgnoreCase))
            c.NotApplied(key, value, $"the kohya_ss GUI passes noise_offset only with noise_offset_type Original (this file says {type})", active: false);
        else
            c.Apply(key, "Diffusion.NoiseOffset", value);
    }

    private static void Resolution(ImportContext c, string key, object? value)
    {
        var parts = value is System.Collections.IList list
            ? list.Cast<object?>().Select(x => Convert.ToString(x, CultureInfo.InvariantCulture) ?? "").ToArray()
            : Convert.ToString(value, CultureInfo.InvariantCulture)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 2 && parts[0] != parts[1])
            c.NotApplied(key, value, $"Data.Resolution is a square side; {parts[0]}x{parts[1]} is not square (Data.Resolution stays {c.Set.Data.Resolution})");
        else if (parts.Length is 1 or 2)
            c.Apply(key, "Data.Resolution", parts[0]);
        else
            throw c.Invalid(key, value, "a side in pixels, or \"width,height\"");
    }

    /// <summary>accelerate's mixed precision: the compute dtype; KohyaPS keeps float32 master weights either way, as kohya does.</summary>
    private static void MixedPrecision(ImportContext c, string key, object? value)
    {
        string? dtype = Convert.ToString(value, CultureInfo.InvariantCulture)!.Trim().ToLowerInvariant() switch
        {
            "no" or "fp32" or "float32" => ComputeDtype.Float32,
            "bf16" or "bfloat16" => ComputeDtype.BFloat16,
            "fp16" or "float16" => ComputeDtype.Float16,
            _ => null,
        };
        if (dtype is null)
            c.NotApplied(key, value, $"not a precision KohyaPS has (no, bf16, fp16); Resources.Dtype stays {c.Set.Resources.Dtype}");
        else
            c.Apply(key, "Resources.Dtype", dtype);
    }

    private static double? Number(ImportContext c, string key) =>
        c.Raw.GetValueOrDefault(key) is { } raw && !ImportContext.IsEmpty(raw) && HyperparameterValues.TryConvert(raw, typeof(double), out var d) ? (double)d! : null;
}
