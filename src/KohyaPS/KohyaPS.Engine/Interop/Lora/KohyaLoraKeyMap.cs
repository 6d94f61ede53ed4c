using System.Diagnostics.CodeAnalysis;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Interop;

/// <summary>How text-encoder modules are prefixed in kohya names.</summary>
public enum KohyaTextEncoderNaming
{
    /// <summary>SD 1.x/2.x: one text encoder, <c>lora_te_</c>.</summary>
    Single,

    /// <summary>SDXL: <c>text_encoder</c> → <c>lora_te1_</c>, <c>text_encoder_2</c> → <c>lora_te2_</c>.</summary>
    Sdxl,
}

/// <summary>
/// Maps between our LoRA tensor names and kohya's, both ways, exactly.
/// Ours: <c>unet.&lt;diffusers module path&gt;</c>, <c>text_encoder.&lt;CLIPTextModel module path&gt;</c> (SDXL also
/// <c>text_encoder_2.&lt;path&gt;</c>) followed by <c>.lora_down.weight</c>, <c>.lora_up.weight</c> or <c>.alpha</c>.
/// Kohya: <c>lora_unet_</c> / <c>lora_te_</c> (or <c>lora_te1_</c>/<c>lora_te2_</c>) + the path with '.' → '_', same suffixes.
/// Because '_' also occurs inside path segments (<c>down_blocks</c>, <c>self_attn</c>), the reverse direction is
/// only exact with the list of module paths the model really has: the map is built from that list and refuses
/// names outside it, and refuses a list in which two paths would get the same kohya name.
/// </summary>
public sealed class KohyaLoraKeyMap
{
    public const string UNetComponent = "unet";
    public const string TextEncoderComponent = "text_encoder";
    public const string TextEncoder2Component = "text_encoder_2";

    private readonly Dictionary<string, (string Component, string Path)> _oursByKohyaModule = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _kohyaModuleByOurs = new(StringComparer.Ordinal);

    /// <param name="unetModulePaths">UNet module paths, e.g. <c>down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q</c>.</param>
    /// <param name="textEncoderModulePaths">Text-encoder module paths as CLIPTextModel names them, e.g. <c>text_model.encoder.layers.0.self_attn.q_proj</c>.</param>
    /// <param name="textEncoder2ModulePaths">SDXL's second text encoder (only with <see cref="KohyaTextEncoderNaming.Sdxl"/>).</param>
    public KohyaLoraKeyMap(IEnumerable<string> unetModulePaths, IEnumerable<string>? textEncoderModulePaths = null,
        IEnumerable<string>? textEncoder2ModulePaths = null, KohyaTextEncoderNaming naming = KohyaTextEncoderNaming.Single)
    {
        ArgumentNullException.ThrowIfNull(unetModulePaths);
        if (!Enum.IsDefined(naming))
            throw new ArgumentOutOfRangeException(nameof(naming), naming, null);
        Naming = naming;
        Add(UNetComponent, KohyaLoraComponent.UNet, unetModulePaths);
        if (textEncoderModulePaths is not null)
            Add(TextEncoderComponent, naming == KohyaTextEncoderNaming.Sdxl ? KohyaLoraComponent.TextEncoder1 : KohyaLoraComponent.TextEncoder, textEncoderModulePaths);
        if (textEncoder2ModulePaths is not null)
        {
            if (naming != KohyaTextEncoderNaming.Sdxl)
                throw new ArgumentException("A second text encoder needs the SDXL naming (lora_te1_/lora_te2_).", nameof(textEncoder2ModulePaths));
            Add(TextEncoder2Component, KohyaLoraComponent.TextEncoder2, textEncoder2ModulePaths);
        }
    }

    public KohyaTextEncoderNaming Naming { get; }

    /// <summary>How many module paths the map knows.</summary>
    public int Count => _kohyaModuleByOurs.Count;

    /// <summary>
    /// Module paths from a model's parameter names (<c>state_dict</c> keys): the names ending in <c>.weight</c> or
    /// <c>.bias</c>, without that suffix, distinct, in ordinal order. Prefix them as the checkpoint does (e.g. add
    /// <c>text_model.</c> for a CLIPTextTransformer's names).
    /// </summary>
    public static IReadOnlyList<string> ModulePathsFromParameterNames(IEnumerable<string> parameterNames, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(parameterNames);
        ArgumentNullException.ThrowIfNull(prefix);
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string name in parameterNames)
        {
            if (name.EndsWith(".weight", StringComparison.Ordinal))
                paths.Add(prefix + name[..^".weight".Length]);
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
                paths.Add(prefix + name[..^".bias".Length]);
        }
        return paths.ToArray();
    }

    /// <summary>Our tensor name → kohya's; <see cref="KohyaException"/> <c>KohyaLoraKeyNotMapped</c> when the module is unknown.</summary>
    public string ToKohyaName(string ourTensorName) =>
        TryToKohyaName(ourTensorName, out string? kohya) ? kohya : throw NotMapped(ourTensorName,
            "it is not '<unet|text_encoder|text_encoder_2>.<module path>' + '.lora_down.weight', '.lora_up.weight' or '.alpha' for a module path the model has");

    /// <summary>Kohya's tensor name → ours; <see cref="KohyaException"/> <c>KohyaLoraKeyNotMapped</c> when the module is unknown.</summary>
    public string ToOurName(string kohyaTensorName) =>
        TryToOurName(kohyaTensorName, out string? ours) ? ours : throw NotMapped(kohyaTensorName,
            "it is not a kohya LoRA tensor of a module the model has (with this map's text-encoder naming)");

    public bool TryToKohyaName(string ourTensorName, [NotNullWhen(true)] out string? kohyaName)
    {
        ArgumentNullException.ThrowIfNull(ourTensorName);
        kohyaName = null;
        foreach (var kind in (ReadOnlySpan<KohyaLoraTensorKind>)[KohyaLoraTensorKind.Down, KohyaLoraTensorKind.Up, KohyaLoraTensorKind.Alpha])
        {
            string suffix = KohyaLoraKeys.SuffixOf(kind);
            if (!ourTensorName.EndsWith(suffix, StringComparison.Ordinal))
                continue;
            if (_kohyaModuleByOurs.TryGetValue(ourTensorName[..^suffix.Length], out string? module))
            {
                kohyaName = module + suffix;
                return true;
            }
            return false;
        }
        return false;
    }

    public bool TryToOurName(string kohyaTensorName, [NotNullWhen(true)] out string? ourName)
    {
        ArgumentNullException.ThrowIfNull(kohyaTensorName);
        ourName = null;
        if (!KohyaLoraKeys.TryParse(kohyaTensorName, out string? module, out _, out var kind)
            || !_oursByKohyaModule.TryGetValue(module, out var ours))
            return false;
        ourName = ours.Component + "." + ours.Path + KohyaLoraKeys.SuffixOf(kind);
        return true;
    }

    /// <summary>Splits one of our tensor names into component (<c>unet</c>, …), module path, kind and kohya module name; false when the module is unknown.</summary>
    public bool TrySplitOurName(string ourTensorName, [NotNullWhen(true)] out string? component, [NotNullWhen(true)] out string? modulePath,
        out KohyaLoraTensorKind kind, [NotNullWhen(true)] out string? kohyaModule)
    {
        component = modulePath = kohyaModule = null;
        kind = default;
        if (!TryToKohyaName(ourTensorName, out string? kohya) || !KohyaLoraKeys.TryParse(kohya, out string? module, out _, out kind))
            return false;
        kohyaModule = module;
        (component, modulePath) = _oursByKohyaModule[module];
        return true;
    }

    private void Add(string component, KohyaLoraComponent kohyaComponent, IEnumerable<string> paths)
    {
        foreach (string path in paths)
        {
            if (string.IsNullOrEmpty(path) || path.StartsWith('.') || path.EndsWith('.') || path.Contains("..", StringComparison.Ordinal)
                || path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                throw new ArgumentException($"'{path}' is not a module path (dot-separated names).", nameof(paths));
            string ours = component + "." + path;
            if (_kohyaModuleByOurs.ContainsKey(ours))
                continue;
            string kohya = KohyaLoraKeys.ModuleName(kohyaComponent, path);
            if (_oursByKohyaModule.TryGetValue(kohya, out var other))
                throw new KohyaException(InteropErrorIds.KeyNotMapped, KohyaErrorKind.InvalidArgument,
                    $"Module paths '{other.Component}.{other.Path}' and '{ours}' both become kohya name '{kohya}'; the mapping could not be reversed.",
                    target: ours);
            _oursByKohyaModule.Add(kohya, (component, path));
            _kohyaModuleByOurs.Add(ours, kohya);
        }
    }

    private static KohyaException NotMapped(string name, string why) =>
        new(InteropErrorIds.KeyNotMapped, KohyaErrorKind.InvalidArgument, $"Tensor '{name}' cannot be mapped: {why}.", target: name)
        {
            RecommendedAction = "Build the key map from the model's own parameter names, with the text-encoder naming the LoRA was made for.",
        };
}
