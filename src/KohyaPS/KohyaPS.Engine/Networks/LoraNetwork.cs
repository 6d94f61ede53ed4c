using KohyaPS.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace KohyaPS.Engine.Networks;

/// <summary>
/// The LoRA adapters of one model, injected by module path into its UNet and text encoder. Names follow the
/// checkpoint convention the kohya key map reads: <c>unet.&lt;diffusers module path&gt;</c> and
/// <c>text_encoder.text_model.&lt;CLIP module path&gt;</c>, each followed by <c>.lora_down.weight</c>,
/// <c>.lora_up.weight</c> and <c>.alpha</c> — so <c>unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q</c>
/// becomes kohya's <c>lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q</c>.
/// </summary>
public sealed class LoraNetwork : IDisposable
{
    public const string UNetPrefix = "unet.";
    public const string TextEncoderPrefix = "text_encoder.text_model.";
    public const string DownSuffix = ".lora_down.weight";
    public const string UpSuffix = ".lora_up.weight";
    public const string AlphaSuffix = ".alpha";

    private readonly List<(string Name, LoraModule Module)> _modules;

    private LoraNetwork(LoraSettings settings, List<(string Name, LoraModule Module)> modules)
    {
        Settings = settings;
        _modules = modules;
    }

    public LoraSettings Settings { get; }

    /// <summary>Adapter names (the module path with its component prefix) in injection order.</summary>
    public IReadOnlyList<string> ModuleNames => _modules.Select(m => m.Name).ToArray();

    public IReadOnlyList<(string Name, LoraModule Module)> Modules => _modules;

    /// <summary>
    /// Puts an adapter on every layer of <paramref name="unet"/> (and <paramref name="textEncoder"/>, when given) that
    /// one of the settings' targets covers, in module order. <c>LoraTargetNotFound</c> when a target covers nothing.
    /// </summary>
    public static LoraNetwork Inject(UNet2DConditionModel unet, TextEncoder? textEncoder, LoraSettings settings)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(settings);
        var modules = new List<(string, LoraModule)>();
        var found = new HashSet<LoraTarget>();
        void Scan(nn.Module root, string prefix, bool text)
        {
            foreach (var (path, module) in root.named_modules())
            {
                if (module is not nn.Module<Tensor, Tensor> layer)
                    continue;
                var hits = settings.Targets.Where(t => LoraTargets.IsTextEncoder(t) == text && LoraTargets.Covers(t, "." + path, module)).ToList();
                if (hits.Count == 0)
                    continue;
                found.UnionWith(hits);
                var adapter = new LoraModule(layer, settings.Rank, settings.Alpha, settings.Dropout);
                adapter.AttachTo(layer);
                modules.Add((prefix + path, adapter));
            }
        }

        try
        {
            Scan(unet, UNetPrefix, text: false);
            if (textEncoder is not null)
                Scan(textEncoder, TextEncoderPrefix, text: true);
            var missing = settings.Targets.Where(t => !found.Contains(t) && (textEncoder is not null || !LoraTargets.IsTextEncoder(t))).ToList();
            if (missing.Count > 0)
                throw new KohyaException("LoraTargetNotFound", KohyaErrorKind.InvalidArgument,
                    $"Network.TargetModules asks for {string.Join(", ", missing)}, but the model has no such layers.", target: "Network.TargetModules")
                {
                    RecommendedAction = "Leave these targets out of Network.TargetModules for this model.",
                };
        }
        catch
        {
            foreach (var (_, m) in modules) m.Dispose();
            throw;
        }
        return new LoraNetwork(settings, modules);
    }

    /// <summary>The trainable tensors, named as the checkpoint stores them (down then up of each adapter).</summary>
    public IEnumerable<(string Name, Parameter Param)> Parameters() =>
        _modules.SelectMany(m => new[] { (m.Name + DownSuffix, m.Module.DownWeight), (m.Name + UpSuffix, m.Module.UpWeight) });

    /// <summary>Every adapter tensor, named as the checkpoint stores them: down, up, alpha of each adapter.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors() =>
        _modules.SelectMany(m => m.Module.state_dict().Select(kv => new KeyValuePair<string, Tensor>(m.Name + "." + kv.Key, kv.Value)));

    /// <summary>Switches dropout on (training) or off.</summary>
    public void Train(bool on)
    {
        foreach (var (_, m) in _modules) m.train(on);
    }

    public void Dispose()
    {
        foreach (var (_, m) in _modules) m.Dispose();
        _modules.Clear();
    }
}
