using KohyaPS.Contracts;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Networks;
using KohyaPS.Engine.Precision;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace KohyaPS.Engine.Training;

/// <summary>
/// What is trained: the UNet and the text encoder that conditions it, with the tokenizer that feeds the
/// encoder. Parameter and tensor names carry the prefixes <c>unet.</c> and <c>text_encoder.</c>.
/// </summary>
/// <remarks>
/// With a LoRA network (Network.Type lora) the UNet and text encoder are the frozen base: every base parameter has
/// <c>requires_grad</c> false, only the adapters are trainable, and <see cref="StateTensors"/> — what a checkpoint's
/// model.safetensors holds — is the adapters alone (<see cref="LoraNetwork"/> names them). The base is the model the
/// run's seed initialises; <see cref="BaseHash"/> identifies it and goes into the checkpoint's metadata, so a resume
/// that rebuilds a different base is refused instead of silently training on other weights.
/// </remarks>
public sealed class TrainingModel : IDisposable
{
    public const string UNetPrefix = "unet.";
    public const string TextEncoderPrefix = "text_encoder.";

    private TrainingModel(UNet2DConditionModel unet, TextEncoder textEncoder, WordTokenizer tokenizer, Device device, bool trainTextEncoder, LoraSettings? lora,
        ScalarType dtype)
    {
        UNet = unet;
        TextEncoder = textEncoder;
        Tokenizer = tokenizer;
        Device = device;
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
            // The seeded float32 weights become the masters; the model itself computes in the low dtype.
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
    public WordTokenizer Tokenizer { get; }
    public Device Device { get; }
    public IReadOnlyList<(string Name, Parameter Param)> TrainableParameters { get; }

    /// <summary>The LoRA adapters on the frozen base; null when the model's own weights are trained.</summary>
    public LoraNetwork? Lora { get; }

    /// <summary>Mixed precision (Resources.Dtype bfloat16/float16): float32 masters behind low-precision compute weights; null for float32.</summary>
    public MixedPrecision? Precision { get; }

    /// <summary>SHA-256 of the frozen base weights (<see cref="LoraBaseHash"/>) of a LoRA model; null otherwise and on <c>meta</c>.</summary>
    public string? BaseHash { get; }

    /// <summary>
    /// Builds the model with weights drawn from <paramref name="seed"/> (identical for identical seeds); with a LoRA
    /// <paramref name="network"/>, the seeded model becomes the frozen base and the adapters are drawn after it.
    /// </summary>
    public static TrainingModel Create(ModelSection settings, WordTokenizer tokenizer, long seed, Device device, NetworkSection? network = null,
        string dtype = ComputeDtype.Float32)
    {
        var computeDtype = ComputeDtype.Parse(dtype);
        var (unetConfig, textConfig) = Configs(settings, tokenizer);
        var lora = LoraSettings.From(network, settings.TrainTextEncoder);
        torch.manual_seed(seed);
        return Build(unetConfig, textConfig, tokenizer, device, settings.TrainTextEncoder, lora, computeDtype);
    }

    /// <summary>
    /// The same model on the <c>meta</c> device: names, shapes and dtypes without memory or random draws
    /// (what a checkpoint checker compares files against).
    /// </summary>
    public static TrainingModel CreateLayout(ModelSection settings, WordTokenizer tokenizer, NetworkSection? network = null)
    {
        var (unetConfig, textConfig) = Configs(settings, tokenizer);
        var lora = LoraSettings.From(network, settings.TrainTextEncoder);
        // Initialisers draw from the default generator even on meta; put its state back so checking a
        // checkpoint never shifts the random stream of whatever runs next on this process.
        using var rng = torch.random.get_rng_state();
        try
        {
            return Build(unetConfig, textConfig, tokenizer, new Device(DeviceType.META), settings.TrainTextEncoder, lora, ScalarType.Float32);
        }
        finally
        {
            torch.random.set_rng_state(rng);
        }
    }

    private static (UNetConfig UNet, TextEncoderConfig Text) Configs(ModelSection settings, WordTokenizer tokenizer)
    {
        var unetConfig = UNetConfig.FromPreset(settings.Preset);
        var textConfig = TextEncoderConfig.ForUNet(unetConfig, tokenizer) with { Layers = settings.TextEncoderLayers };
        textConfig.Validate();
        return (unetConfig, textConfig);
    }

    private static TrainingModel Build(UNetConfig unetConfig, TextEncoderConfig textConfig, WordTokenizer tokenizer, Device device, bool trainTextEncoder,
        LoraSettings? lora, ScalarType dtype)
    {
        var unet = new UNet2DConditionModel(unetConfig, device);
        var text = new TextEncoder(textConfig, device);
        unet.train();
        text.train();
        try
        {
            return new TrainingModel(unet, text, tokenizer, device, trainTextEncoder, lora, dtype);
        }
        catch
        {
            unet.Dispose();
            text.Dispose();
            throw;
        }
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

    /// <summary>Metadata model.safetensors carries for this model: kohya's network keys and the base's identity for a LoRA; nothing otherwise.</summary>
    public IReadOnlyDictionary<string, string> NetworkMetadata()
    {
        if (Lora is null)
            return new Dictionary<string, string>();
        var s = Lora.Settings;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ss_network_module"] = "networks.lora",
            ["ss_network_dim"] = s.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ss_network_alpha"] = s.Alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["ss_network_dropout"] = s.Dropout.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["kohyaps.lora_targets"] = string.Join(",", s.Targets),
            [LoraBaseHash.SourceMetadataKey] = LoraBaseHash.SeedSource,
        };
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
    }
}
