using KohyaPS.Contracts;
using KohyaPS.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace KohyaPS.Engine.Training;

/// <summary>
/// What is trained: the UNet and the text encoder that conditions it, with the tokenizer that feeds the
/// encoder. Parameter and tensor names carry the prefixes <c>unet.</c> and <c>text_encoder.</c>.
/// </summary>
public sealed class TrainingModel : IDisposable
{
    public const string UNetPrefix = "unet.";
    public const string TextEncoderPrefix = "text_encoder.";

    private TrainingModel(UNet2DConditionModel unet, TextEncoder textEncoder, WordTokenizer tokenizer, Device device, bool trainTextEncoder)
    {
        UNet = unet;
        TextEncoder = textEncoder;
        Tokenizer = tokenizer;
        Device = device;
        var trainable = unet.named_parameters().Select(p => (UNetPrefix + p.name, p.parameter));
        if (trainTextEncoder)
            trainable = trainable.Concat(textEncoder.named_parameters().Select(p => (TextEncoderPrefix + p.name, p.parameter)));
        else
            foreach (var p in textEncoder.parameters()) p.requires_grad = false;
        TrainableParameters = trainable.ToList();
    }

    public UNet2DConditionModel UNet { get; }
    public TextEncoder TextEncoder { get; }
    public WordTokenizer Tokenizer { get; }
    public Device Device { get; }
    public IReadOnlyList<(string Name, Parameter Param)> TrainableParameters { get; }

    /// <summary>Builds the model with weights drawn from <paramref name="seed"/> (identical for identical seeds).</summary>
    public static TrainingModel Create(ModelSection settings, WordTokenizer tokenizer, long seed, Device device)
    {
        var (unetConfig, textConfig) = Configs(settings, tokenizer);
        torch.manual_seed(seed);
        return Build(unetConfig, textConfig, tokenizer, device, settings.TrainTextEncoder);
    }

    /// <summary>
    /// The same model on the <c>meta</c> device: names, shapes and dtypes without memory or random draws
    /// (what a checkpoint checker compares files against).
    /// </summary>
    public static TrainingModel CreateLayout(ModelSection settings, WordTokenizer tokenizer)
    {
        var (unetConfig, textConfig) = Configs(settings, tokenizer);
        // Initialisers draw from the default generator even on meta; put its state back so checking a
        // checkpoint never shifts the random stream of whatever runs next on this process.
        using var rng = torch.random.get_rng_state();
        try
        {
            return Build(unetConfig, textConfig, tokenizer, new Device(DeviceType.META), settings.TrainTextEncoder);
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

    private static TrainingModel Build(UNetConfig unetConfig, TextEncoderConfig textConfig, WordTokenizer tokenizer, Device device, bool trainTextEncoder)
    {
        var unet = new UNet2DConditionModel(unetConfig, device);
        var text = new TextEncoder(textConfig, device);
        unet.train();
        text.train();
        return new TrainingModel(unet, text, tokenizer, device, trainTextEncoder);
    }

    /// <summary>The UNet's prediction for noisy images, their timesteps and captions.</summary>
    public Tensor Predict(Tensor noisy, Tensor timesteps, IReadOnlyList<string> captions)
    {
        using var ids = Tokenizer.EncodeBatch(captions, Device);
        using var conditioning = TextEncoder.forward(ids);
        return UNet.forward(noisy, timesteps, conditioning);
    }

    /// <summary>Every weight and buffer, prefixed, in state-dict order (what a checkpoint stores).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors() =>
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
    }

    private static string Preview(IReadOnlyList<string> keys) =>
        keys.Count <= 5 ? string.Join(", ", keys) : string.Join(", ", keys.Take(5)) + $", … ({keys.Count} in all)";

    public void Dispose()
    {
        UNet.Dispose();
        TextEncoder.Dispose();
    }
}
