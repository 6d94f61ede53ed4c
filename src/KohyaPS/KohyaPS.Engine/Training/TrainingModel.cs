using KohyaPS.Contracts;
using KohyaPS.Engine.Caching;
using KohyaPS.Engine.Loading;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;
using KohyaPS.Engine.Networks;
using KohyaPS.Engine.Precision;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace KohyaPS.Engine.Training;

/// <summary>
/// What is trained: the UNet and the text encoder that conditions it, with the tokenizer that feeds the encoder, and —
/// for the latent presets — the frozen VAE whose latents the UNet denoises. Parameter and tensor names carry the
/// prefixes <c>unet.</c> and <c>text_encoder.</c>; the VAE is never trained and never saved in a checkpoint (it is
/// rebuilt from the seed or Model.Path, and its hash in the checkpoint's metadata makes a resume on another VAE fail).
/// </summary>
/// <remarks>
/// With a LoRA network (Network.Type lora) the UNet and text encoder are the frozen base: every base parameter has
/// <c>requires_grad</c> false, only the adapters are trainable, and <see cref="StateTensors"/> — what a checkpoint's
/// model.safetensors holds — is the adapters alone (<see cref="LoraNetwork"/> names them). The base is the model the
/// run's seed initialises or Model.Path loads; <see cref="BaseHash"/> identifies it and goes into the checkpoint's metadata, so a resume
/// that rebuilds a different base is refused instead of silently training on other weights.
/// </remarks>
public sealed class TrainingModel : IDisposable
{
    public const string UNetPrefix = "unet.";
    public const string TextEncoderPrefix = "text_encoder.";
    public const string VaeHashMetadataKey = "kohyaps.vae_sha256";

    private readonly Lazy<string?> _vaeHash;

    private TrainingModel(UNet2DConditionModel unet, TextEncoder textEncoder, AutoencoderKL? vae, ICaptionTokenizer tokenizer, Device device,
        bool trainTextEncoder, LoraSettings? lora, string baseSource, ScalarType dtype)
    {
        UNet = unet;
        TextEncoder = textEncoder;
        Vae = vae;
        Tokenizer = tokenizer;
        Device = device;
        BaseSource = baseSource;
        if (vae is not null)
        {
            foreach (var p in vae.parameters()) p.requires_grad = false;
            vae.eval();
        }
        _vaeHash = new Lazy<string?>(() => vae is null || device.type == DeviceType.META ? null : LoraBaseHash.Compute(vae.state_dict()));
        if (lora is not null)
        {
            foreach (var p in unet.parameters().Concat(textEncoder.parameters())) p.requires_grad = false;
            if (device.type != DeviceType.META)
                BaseHash = LoraBaseHash.Compute(BaseStateTensors());
            Lora = LoraNetwork.Inject(unet, textEncoder, lora);
        }
        else if (!trainTextEncoder)
        {
            foreach (var p in textEncoder.parameters()) p.requires_grad = false;
        }
        TrainableParameters = LiveTrainable(trainTextEncoder).ToList();
        if (dtype != ScalarType.Float32 && device.type != DeviceType.META)
        {
            // The float32 weights (seeded or loaded) become the masters; the UNet and text encoder compute in the low dtype.
            // The frozen VAE stays float32: it encodes and decodes outside the trained graph, and its hash names float32 weights.
            Precision = MixedPrecision.Create(dtype, MasterWeights.Create(TrainableParameters, StateTensors(), () => CastModules(dtype, trainTextEncoder),
                () => LiveTrainable(trainTextEncoder), () => Lora?.StateTensors() ?? BaseStateTensors()));
            TrainableParameters = Precision.Masters;
        }
    }

    /// <summary>The parameters the model trains, as the modules hold them now (the compute weights under mixed precision).</summary>
    private IEnumerable<(string Name, Parameter Param)> LiveTrainable(bool trainTextEncoder)
    {
        if (Lora is not null)
            return Lora.Parameters();
        var trainable = UNet.named_parameters().Select(p => (UNetPrefix + p.name, p.parameter));
        return trainTextEncoder ? trainable.Concat(TextEncoder.named_parameters().Select(p => (TextEncoderPrefix + p.name, p.parameter))) : trainable;
    }

    private void CastModules(ScalarType dtype, bool trainTextEncoder)
    {
        UNet.to(dtype);
        TextEncoder.to(dtype);
        foreach (var (_, adapter) in Lora?.Modules ?? Array.Empty<(string, LoraModule)>())
            adapter.to(dtype);
        foreach (var p in UNet.parameters().Concat(TextEncoder.parameters())) p.requires_grad = false;
        foreach (var (_, p) in LiveTrainable(trainTextEncoder)) p.requires_grad = true;
    }

    public UNet2DConditionModel UNet { get; }
    public TextEncoder TextEncoder { get; }

    /// <summary>The frozen VAE of a latent model (tiny-sd, sd15); null for the pixel presets.</summary>
    public AutoencoderKL? Vae { get; }
    public ICaptionTokenizer Tokenizer { get; }
    public Device Device { get; }
    public IReadOnlyList<(string Name, Parameter Param)> TrainableParameters { get; }

    /// <summary>Where the base weights came from: <see cref="LoraBaseHash.SeedSource"/>, or <c>model:&lt;file or folder name&gt;</c> for Model.Path.</summary>
    public string BaseSource { get; }

    /// <summary>Pixels per latent cell (the VAE's downsampling); 1 for a pixel model.</summary>
    public int SpatialFactor => Vae?.Config.DownsampleFactor ?? 1;

    /// <summary>Image sides this model takes are multiples of this (<see cref="ModelBlueprint.SizeMultipleOf"/>).</summary>
    public int SizeMultiple => ModelBlueprint.SizeMultipleOf(UNet.Config, Vae?.Config);

    /// <summary>The LoRA adapters on the frozen base; null when the model's own weights are trained.</summary>
    public LoraNetwork? Lora { get; }

    /// <summary>Mixed precision (Resources.Dtype bfloat16/float16): float32 masters behind low-precision compute weights; null for float32.</summary>
    public MixedPrecision? Precision { get; }

    /// <summary>SHA-256 of the frozen base weights (<see cref="LoraBaseHash"/>) of a LoRA model; null otherwise and on <c>meta</c>.</summary>
    public string? BaseHash { get; }

    /// <summary>SHA-256 of the VAE's weights (computed once, when first asked); null without a VAE and on <c>meta</c>.</summary>
    public string? VaeHash => _vaeHash.Value;

    /// <summary>
    /// Builds the model: from Model.Path (a diffusers folder or a single-file checkpoint) when set, otherwise with
    /// weights drawn from <paramref name="seed"/> (identical for identical seeds; the UNet, then the text encoder, then
    /// the VAE). With a LoRA <paramref name="network"/> the model becomes the frozen base and the adapters are drawn
    /// after it, from <paramref name="seed"/> as well. <paramref name="dtype"/> is Resources.Dtype: bfloat16 or float16
    /// computes in that dtype behind float32 masters (<see cref="Precision"/>).
    /// </summary>
    public static TrainingModel Create(ModelSection settings, ICaptionTokenizer tokenizer, long seed, Device device, NetworkSection? network = null,
        string dtype = ComputeDtype.Float32)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var computeDtype = ComputeDtype.Parse(dtype);
        var blueprint = ModelBlueprint.For(settings, tokenizer.VocabularySize, tokenizer.MaxLength);
        var lora = LoraSettings.From(network, settings.TrainTextEncoder);
        if (blueprint.IsLatent && !string.IsNullOrEmpty(settings.Path))
        {
            var loaded = StableDiffusionLoader.Load(settings.Path, new StableDiffusionLoadOptions
            {
                Device = device, UNet = blueprint.UNet, Vae = blueprint.Vae!, TextEncoder = blueprint.TextEncoder, MaxTokens = tokenizer.MaxLength,
                LoadTokenizer = false, // the caller's tokenizer is the run's (CaptionTokenizers), possibly from Model.TokenizerPath
            });
            torch.manual_seed(seed);
            return Assemble(loaded.UNet, loaded.TextEncoder, loaded.Vae, tokenizer, device, settings.TrainTextEncoder, lora,
                "model:" + System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(settings.Path))), computeDtype);
        }
        torch.manual_seed(seed);
        var unet = new UNet2DConditionModel(blueprint.UNet, device);
        var text = new TextEncoder(blueprint.TextEncoder, device);
        var vae = blueprint.Vae is { } vaeConfig ? new AutoencoderKL(vaeConfig, device) : null;
        return Assemble(unet, text, vae, tokenizer, device, settings.TrainTextEncoder, lora, LoraBaseHash.SeedSource, computeDtype);
    }

    /// <summary>
    /// The trained part of the model on the <c>meta</c> device: names, shapes and dtypes without memory or random draws
    /// (what a checkpoint checker compares files against). Needs no weight file, and builds no VAE (checkpoints hold none).
    /// </summary>
    public static TrainingModel CreateLayout(ModelSection settings, int vocabularySize, int maxLength, NetworkSection? network = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var blueprint = ModelBlueprint.For(settings, vocabularySize, maxLength);
        var lora = LoraSettings.From(network, settings.TrainTextEncoder);
        var meta = new Device(DeviceType.META);
        // Initialisers draw from the default generator even on meta; put its state back so checking a
        // checkpoint never shifts the random stream of whatever runs next on this process.
        using var generator = DefaultGeneratorScope.Preserve();
        return Assemble(new UNet2DConditionModel(blueprint.UNet, meta), new TextEncoder(blueprint.TextEncoder, meta), null,
            new LayoutTokenizer(vocabularySize, maxLength), meta, settings.TrainTextEncoder, lora, LoraBaseHash.SeedSource, ScalarType.Float32);
    }

    private static TrainingModel Assemble(UNet2DConditionModel unet, TextEncoder text, AutoencoderKL? vae, ICaptionTokenizer tokenizer, Device device,
        bool trainTextEncoder, LoraSettings? lora, string baseSource, ScalarType dtype)
    {
        unet.train();
        text.train();
        try
        {
            return new TrainingModel(unet, text, vae, tokenizer, device, trainTextEncoder, lora, baseSource, dtype);
        }
        catch
        {
            unet.Dispose();
            text.Dispose();
            vae?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What the UNet trains on for a batch of images ([B, 3, H, W] in [-1, 1]): the pixels themselves, or for a latent
    /// model latents drawn from each image's VAE posterior (<see cref="LatentEncoder"/>, one image at a time) by
    /// <see cref="DrawLatents"/>. No gradient flows into the VAE.
    /// </summary>
    public Tensor ToModelSpace(Tensor pixels, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (Vae is null)
            return pixels.to(Device);
        var posteriors = new List<LatentDistribution>((int)pixels.shape[0]);
        try
        {
            for (int i = 0; i < pixels.shape[0]; i++)
            {
                using var image = pixels.narrow(0, i, 1);
                posteriors.Add(LatentEncoder.Encode(Vae, image));
            }
            return DrawLatents(posteriors, generator);
        }
        finally
        {
            foreach (var p in posteriors) p.Dispose();
        }
    }

    /// <summary>
    /// Latents for a batch from its samples' posteriors (each [1, C, h, w]): mean + exp(logvar / 2) · ε with ε drawn
    /// from <paramref name="generator"/> for the whole batch at once, times the VAE's scaling factor, on <see cref="Device"/>.
    /// </summary>
    public Tensor DrawLatents(IReadOnlyList<LatentDistribution> posteriors, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(posteriors);
        var vae = Vae ?? throw new InvalidOperationException("A pixel model has no latents.");
        using var noGrad = torch.no_grad();
        using var mean = torch.cat(posteriors.Select(p => p.Mean).ToList(), 0);
        using var logVar = torch.cat(posteriors.Select(p => p.LogVar).ToList(), 0);
        using var batch = new LatentDistribution(mean.to(Device), logVar.to(Device));
        using var sample = batch.Sample(generator);
        return sample.mul(vae.Config.ScalingFactor);
    }

    /// <summary>Images in [-1, 1]-ish from what the UNet denoised: the tensor itself, or the VAE's decoding of the unscaled latents.</summary>
    public Tensor ToImages(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Vae is null)
            return x.alias();
        using var noGrad = torch.no_grad();
        using var unscaled = x / Vae.Config.ScalingFactor;
        return Vae.Decode(unscaled);
    }

    /// <summary>The UNet's prediction for noisy images, their timesteps and captions.</summary>
    public Tensor Predict(Tensor noisy, Tensor timesteps, IReadOnlyList<string> captions)
    {
        using var ids = Tokenizer.EncodeBatch(captions, Device);
        using var conditioning = TextEncoder.forward(ids);
        return UNet.forward(noisy, timesteps, conditioning);
    }

    /// <summary>
    /// What a checkpoint stores: every weight and buffer, prefixed, in state-dict order — or only the LoRA adapters' tensors;
    /// under mixed precision their float32 masters and copies.
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors() => Precision?.Weights.StateTensors() ?? Lora?.StateTensors() ?? BaseStateTensors();

    /// <summary>The UNet's and text encoder's own weights and buffers, prefixed, in state-dict order.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> BaseStateTensors() =>
        UNet.state_dict().Select(kv => new KeyValuePair<string, Tensor>(UNetPrefix + kv.Key, kv.Value))
            .Concat(TextEncoder.state_dict().Select(kv => new KeyValuePair<string, Tensor>(TextEncoderPrefix + kv.Key, kv.Value)));

    /// <summary>Copies saved tensors into the model in place; every key must match by name and shape.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var own = StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var missing = own.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        var unexpected = tensors.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var wrongShape = own.Where(kv => tensors.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape)).Select(kv => kv.Key).ToList();
        if (missing.Count + unexpected.Count + wrongShape.Count > 0)
            throw new KohyaException("CheckpointModelMismatch", KohyaErrorKind.InvalidData,
                $"'{source}' does not fit the model: missing [{Preview(missing)}], unexpected [{Preview(unexpected)}], wrong shape [{Preview(wrongShape)}].",
                target: source);
        using var noGrad = torch.no_grad();
        foreach (var (name, target) in own)
            target.copy_(tensors[name]);
        Precision?.Weights.CopyToCompute();
    }

    private static string Preview(IReadOnlyList<string> keys) =>
        keys.Count <= 5 ? string.Join(", ", keys) : string.Join(", ", keys.Take(5)) + $", … ({keys.Count} in all)";

    /// <summary>
    /// Metadata model.safetensors carries for this model: the VAE's hash for a latent model; kohya's network keys and the
    /// base's identity for a LoRA.
    /// </summary>
    public IReadOnlyDictionary<string, string> NetworkMetadata()
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (VaeHash is { } vaeHash)
            metadata[VaeHashMetadataKey] = vaeHash;
        if (Lora is null)
            return metadata;
        var s = Lora.Settings;
        foreach (var (key, value) in new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ss_network_module"] = "networks.lora",
            ["ss_network_dim"] = s.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ss_network_alpha"] = s.Alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["ss_network_dropout"] = s.Dropout.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["kohyaps.lora_targets"] = string.Join(",", s.Targets),
            [LoraBaseHash.SourceMetadataKey] = BaseSource,
        })
            metadata[key] = value;
        if (BaseHash is not null)
            metadata[LoraBaseHash.MetadataKey] = BaseHash;
        return metadata;
    }

    /// <summary>
    /// For a LoRA model: refuses (<c>LoraBaseMismatch</c>) when the checkpoint's metadata names other base weights than
    /// the ones this model was built on — another seed, preset, or a library version that initialises differently.
    /// </summary>
    public void EnsureSameBase(IReadOnlyDictionary<string, string> checkpointMetadata, string source)
    {
        ArgumentNullException.ThrowIfNull(checkpointMetadata);
        if (checkpointMetadata.TryGetValue(VaeHashMetadataKey, out string? savedVae) && VaeHash is { } vaeHash && savedVae != vaeHash)
            throw new KohyaException("VaeMismatch", KohyaErrorKind.InvalidData,
                $"'{source}' was trained on the latents of VAE {savedVae[..Math.Min(12, savedVae.Length)]}…, but the VAE rebuilt now is {vaeHash[..12]}…; the UNet would continue on other latents.",
                target: source)
            {
                RecommendedAction = "Resume with the Model.Path (or Training.Seed) and KohyaPS version the run was started with.",
            };
        if (Lora is null)
            return;
        checkpointMetadata.TryGetValue(LoraBaseHash.MetadataKey, out string? saved);
        if (saved is not null && saved == BaseHash)
            return;
        throw new KohyaException("LoraBaseMismatch", KohyaErrorKind.InvalidData,
            saved is null
                ? $"'{source}' holds LoRA weights but does not name the base weights they were trained on ({LoraBaseHash.MetadataKey})."
                : $"'{source}' was trained on base weights {saved[..12]}…, but the base rebuilt now is {BaseHash?[..12]}…; the LoRA would continue on other weights.",
            target: source)
        {
            RecommendedAction = "Resume with the KohyaPS and TorchSharp versions and settings (Training.Seed, Model) the run was started with.",
        };
    }

    public void Dispose()
    {
        Precision?.Dispose();
        Lora?.Dispose();
        UNet.Dispose();
        TextEncoder.Dispose();
        Vae?.Dispose();
    }

    /// <summary>Stands in for the tokenizer of a <see cref="CreateLayout"/> model, which encodes nothing.</summary>
    private sealed class LayoutTokenizer(int vocabularySize, int maxLength) : ICaptionTokenizer
    {
        public int VocabularySize { get; } = vocabularySize;
        public int MaxLength { get; } = maxLength;
        public Tensor EncodeBatch(IReadOnlyList<string> captions, Device? device = null) =>
            throw new InvalidOperationException("A layout model has no weights to run.");
        public Checkpoints.TokenizerState Describe() => new() { MaxLength = MaxLength, VocabularySize = VocabularySize };
    }
}
