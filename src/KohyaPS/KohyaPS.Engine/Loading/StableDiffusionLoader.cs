using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Clip;
using KohyaPS.Engine.Models.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Loading;

/// <summary>
/// Loads Stable Diffusion 1.x weights from a diffusers folder (<c>unet/diffusion_pytorch_model.safetensors</c>,
/// <c>vae/diffusion_pytorch_model.safetensors</c>, <c>text_encoder/model.safetensors</c>, each with its
/// <c>config.json</c>, and <c>tokenizer/vocab.json</c> + <c>merges.txt</c>) or from a single-file checkpoint in the
/// original LDM layout (through <see cref="LdmKeyMap"/>). Only safetensors are read: pickled <c>.ckpt</c>/<c>.pt</c>/
/// <c>.bin</c> files are refused ("PickleCheckpointRefused"), never unpickled. Each component's keys and shapes are
/// checked against its header first ("ModelWeightsMismatch" lists every problem), then copied tensor by tensor
/// (<see cref="WeightLoader"/>). The default random generator's state is put back afterwards.
/// </summary>
public static class StableDiffusionLoader
{
    public const string UNetWeights = "unet/diffusion_pytorch_model.safetensors";
    public const string VaeWeights = "vae/diffusion_pytorch_model.safetensors";
    public const string TextEncoderWeights = "text_encoder/model.safetensors";

    private static readonly string[] PickleExtensions = { ".ckpt", ".pt", ".pth", ".bin", ".pkl" };

    /// <summary>A folder is read as diffusers, a file as an LDM single-file checkpoint.</summary>
    public static StableDiffusionModels Load(string path, StableDiffusionLoadOptions? options = null,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new StableDiffusionLoadOptions();
        return CheckSource(path)
            ? LoadDiffusersFolder(path, options, progress, cancellationToken)
            : LoadSingleFile(path, options, progress, cancellationToken);
    }

    /// <summary>
    /// True for a folder (read as diffusers), false for a safetensors file; "ModelFileMissing" when neither exists and
    /// "PickleCheckpointRefused" for a pickle — checks that need no weights, for refusing a bad path before other work.
    /// </summary>
    public static bool CheckSource(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
            return true;
        if (!File.Exists(path))
            throw new KohyaException("ModelFileMissing", KohyaErrorKind.ObjectNotFound, $"'{path}' is neither a model folder nor a file.", target: path)
            {
                RecommendedAction = "Give a diffusers model folder or a single-file .safetensors checkpoint.",
            };
        RefusePickle(path);
        return false;
    }

    public static StableDiffusionModels LoadDiffusersFolder(string folder, StableDiffusionLoadOptions options,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(options);
        var unetConfig = DiffusersConfigJson.ReadUNet(Path.Combine(folder, "unet", "config.json"));
        var vaeConfig = DiffusersConfigJson.ReadVae(Path.Combine(folder, "vae", "config.json"));
        var textConfig = DiffusersConfigJson.ReadTextEncoder(Path.Combine(folder, "text_encoder", "config.json"));
        string unetPath = WeightsFile(folder, UNetWeights), vaePath = WeightsFile(folder, VaeWeights), textPath = WeightsFile(folder, TextEncoderWeights);
        var tokenizer = options.LoadTokenizer
            ? ClipTokenizer.FromFiles(Required(Path.Combine(folder, "tokenizer", "vocab.json")), Required(Path.Combine(folder, "tokenizer", "merges.txt")), options.MaxTokens)
            : null;

        using var unetFile = SafetensorsFile.Open(unetPath);
        using var vaeFile = SafetensorsFile.Open(vaePath);
        using var textFile = SafetensorsFile.Open(textPath);
        var unetMap = LdmKeyMap.ForUNet(unetConfig);
        var vaeMap = LdmKeyMap.ForVae(vaeConfig);
        var textMap = LdmKeyMap.ForTextEncoder(textConfig);
        return Build(unetConfig, vaeConfig, textConfig, tokenizer, folder, options, progress, cancellationToken, new[]
        {
            new Part(unetFile, unetMap, m => m.DiffusersKey, (_, s) => s, "", "UNet"),
            new Part(vaeFile, vaeMap, m => m.DiffusersKey, (_, s) => s, "", "VAE"),
            new Part(textFile, textMap, m => m.DiffusersKey, (_, s) => s, "", "text encoder"),
        });
    }

    public static StableDiffusionModels LoadSingleFile(string path, StableDiffusionLoadOptions options,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        RefusePickle(path);
        using var file = SafetensorsFile.Open(path);
        // Files saved by older transformers versions lack the text_model. level under cond_stage_model.transformer.
        bool oldText = !file.Entries.Any(e => e.Name.StartsWith(LdmKeyMap.TextEncoderPrefix + LdmKeyMap.DiffusersTextPrefix, StringComparison.Ordinal))
                       && file.Entries.Any(e => e.Name.StartsWith(LdmKeyMap.TextEncoderPrefix, StringComparison.Ordinal));
        Func<KeyMapping, string> textKey = oldText ? m => LdmKeyMap.TextEncoderPrefix + m.ModelKey : m => m.LdmKey;
        return Build(options.UNet, options.Vae, options.TextEncoder, null, path, options, progress, cancellationToken, new[]
        {
            new Part(file, LdmKeyMap.ForUNet(options.UNet), m => m.LdmKey, (m, s) => m.LdmShape(s), LdmKeyMap.UNetPrefix, "UNet"),
            new Part(file, LdmKeyMap.ForVae(options.Vae), m => m.LdmKey, (m, s) => m.LdmShape(s), LdmKeyMap.VaePrefix, "VAE"),
            new Part(file, LdmKeyMap.ForTextEncoder(options.TextEncoder), textKey, (_, s) => s, LdmKeyMap.TextEncoderPrefix, "text encoder"),
        });
    }

    /// <summary>Throws "PickleCheckpointRefused" for a pickle-based checkpoint (by extension or by its first bytes).</summary>
    public static void RefusePickle(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string ext = Path.GetExtension(path).ToLowerInvariant();
        bool pickle = PickleExtensions.Contains(ext);
        if (!pickle && File.Exists(path))
        {
            Span<byte> head = stackalloc byte[2];
            using var stream = File.OpenRead(path);
            int got = stream.Read(head);
            // A zip archive (torch.save since 1.6) or a bare pickle (protocol 2+ starts with 0x80).
            pickle = got == 2 && ((head[0] == (byte)'P' && head[1] == (byte)'K') || head[0] == 0x80);
        }
        if (pickle)
            throw new KohyaException("PickleCheckpointRefused", KohyaErrorKind.InvalidData,
                $"'{path}' is a PyTorch pickle checkpoint. Pickles can run arbitrary code when loaded, so KohyaPS never opens them.", target: path)
            {
                RecommendedAction = "Use the model's .safetensors release, or convert the file to safetensors on a machine you trust.",
            };
    }

    private sealed record Part(SafetensorsFile File, IReadOnlyList<KeyMapping> Map, Func<KeyMapping, string> FileKey,
        Func<KeyMapping, long[], long[]> FileShape, string Prefix, string Name);

    private static StableDiffusionModels Build(UNetConfig unetConfig, VaeConfig vaeConfig, TextEncoderConfig textConfig, ClipTokenizer? tokenizer,
        string source, StableDiffusionLoadOptions options, IProgress<string>? progress, CancellationToken cancellationToken, Part[] parts)
    {
        // Check every part against the header before building anything: a wrong file fails in milliseconds.
        var shapes = new[] { unetConfig.ParameterShapes(), vaeConfig.ParameterShapes(), textConfig.ParameterShapes() };
        for (int i = 0; i < parts.Length; i++)
        {
            var p = parts[i];
            var metaState = shapes[i].ToDictionary(kv => kv.Key, kv => torch.empty(kv.Value, device: new Device(DeviceType.META)), StringComparer.Ordinal);
            try
            {
                var mismatch = WeightLoader.Compare(p.File, metaState, p.Map, p.FileKey, p.FileShape, p.Prefix);
                if (!mismatch.IsEmpty)
                    throw mismatch.ToException(p.File.Path, p.Name);
            }
            finally
            {
                foreach (var t in metaState.Values)
                    t.Dispose();
            }
        }

        using var generator = DefaultGeneratorScope.Preserve();
        UNet2DConditionModel? unet = null;
        AutoencoderKL? vae = null;
        TextEncoder? text = null;
        try
        {
            progress?.Report("Building the models");
            unet = new UNet2DConditionModel(unetConfig, options.Device, options.Dtype);
            vae = new AutoencoderKL(vaeConfig, options.Device, options.Dtype);
            text = new TextEncoder(textConfig, options.Device, options.Dtype);
            var modules = new nn.Module[] { unet, vae, text };
            for (int i = 0; i < parts.Length; i++)
            {
                var p = parts[i];
                progress?.Report($"Loading the {p.Name} from {p.File.Path}");
                var state = modules[i].state_dict();
                WeightLoader.Copy(p.File, state, p.Map, p.FileKey, cancellationToken);
            }
            foreach (var m in modules)
                m.eval();
            return new StableDiffusionModels(unet, vae, text, tokenizer, source);
        }
        catch
        {
            unet?.Dispose();
            vae?.Dispose();
            text?.Dispose();
            throw;
        }
    }

    private static string WeightsFile(string folder, string relative)
    {
        string path = Path.Combine(folder, relative);
        if (File.Exists(path))
            return path;
        string bin = Path.ChangeExtension(path, ".bin");
        if (File.Exists(bin))
            RefusePickle(bin);
        return Required(path);
    }

    private static string Required(string path) => File.Exists(path)
        ? path
        : throw new KohyaException("ModelFileMissing", KohyaErrorKind.ObjectNotFound, $"The model folder lacks '{path}'.", target: path)
        {
            RecommendedAction = "Point at a complete diffusers model folder (unet/, vae/, text_encoder/, tokenizer/ with their config.json).",
        };
}
