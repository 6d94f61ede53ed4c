using System.Diagnostics.CodeAnalysis;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Interop;

/// <summary>Which of a kohya LoRA module's three tensors a name is.</summary>
public enum KohyaLoraTensorKind
{
    /// <summary><c>&lt;module&gt;.lora_down.weight</c>: [rank, in] (Linear) or [rank, in, kh, kw] (Conv2d).</summary>
    Down,

    /// <summary><c>&lt;module&gt;.lora_up.weight</c>: [out, rank] or [out, rank, 1, 1].</summary>
    Up,

    /// <summary><c>&lt;module&gt;.alpha</c>: a scalar; the module's output is scaled by alpha / rank.</summary>
    Alpha,
}

/// <summary>
/// The tensor naming of kohya sd-scripts' <c>networks.lora</c>: module <c>lora_unet_&lt;diffusers path with '.' → '_'&gt;</c>
/// (text encoder: <c>lora_te_</c>, SDXL <c>lora_te1_</c>/<c>lora_te2_</c>) followed by <c>.lora_down.weight</c>,
/// <c>.lora_up.weight</c> or <c>.alpha</c>.
/// </summary>
public static class KohyaLoraKeys
{
    public const string DownSuffix = ".lora_down.weight";
    public const string UpSuffix = ".lora_up.weight";
    public const string AlphaSuffix = ".alpha";

    public const string UNetPrefix = "lora_unet_";
    public const string TextEncoderPrefix = "lora_te_";
    public const string TextEncoder1Prefix = "lora_te1_";
    public const string TextEncoder2Prefix = "lora_te2_";

    public static string PrefixOf(KohyaLoraComponent component) => component switch
    {
        KohyaLoraComponent.UNet => UNetPrefix,
        KohyaLoraComponent.TextEncoder => TextEncoderPrefix,
        KohyaLoraComponent.TextEncoder1 => TextEncoder1Prefix,
        KohyaLoraComponent.TextEncoder2 => TextEncoder2Prefix,
        _ => throw new ArgumentOutOfRangeException(nameof(component), component, null),
    };

    public static string SuffixOf(KohyaLoraTensorKind kind) => kind switch
    {
        KohyaLoraTensorKind.Down => DownSuffix,
        KohyaLoraTensorKind.Up => UpSuffix,
        KohyaLoraTensorKind.Alpha => AlphaSuffix,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The kohya module name of a module path: prefix + path with every '.' replaced by '_'.</summary>
    public static string ModuleName(KohyaLoraComponent component, string modulePath) => PrefixOf(component) + modulePath.Replace('.', '_');

    /// <summary>
    /// Splits a tensor name into its module name (prefix included, e.g. <c>lora_unet_mid_block_attentions_0_proj_in</c>),
    /// component and kind. False for any other name.
    /// </summary>
    public static bool TryParse(string tensorName, [NotNullWhen(true)] out string? moduleName, out KohyaLoraComponent component, out KohyaLoraTensorKind kind)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        moduleName = null;
        component = default;
        kind = default;
        foreach (var k in (ReadOnlySpan<KohyaLoraTensorKind>)[KohyaLoraTensorKind.Down, KohyaLoraTensorKind.Up, KohyaLoraTensorKind.Alpha])
        {
            string suffix = SuffixOf(k);
            if (!tensorName.EndsWith(suffix, StringComparison.Ordinal))
                continue;
            string module = tensorName[..^suffix.Length];
            // The SDXL prefixes first: "lora_te1_" also starts with "lora_te" but not with "lora_te_".
            foreach (var c in (ReadOnlySpan<KohyaLoraComponent>)[KohyaLoraComponent.UNet, KohyaLoraComponent.TextEncoder1, KohyaLoraComponent.TextEncoder2, KohyaLoraComponent.TextEncoder])
            {
                string prefix = PrefixOf(c);
                if (module.Length > prefix.Length && module.StartsWith(prefix, StringComparison.Ordinal) && !module.Contains('.', StringComparison.Ordinal))
                {
                    moduleName = module;
                    component = c;
                    kind = k;
                    return true;
                }
            }
            return false;
        }
        return false;
    }

    /// <summary>True when the name is one of a kohya LoRA module's tensors.</summary>
    public static bool IsLoraTensor(string tensorName) => TryParse(tensorName, out _, out _, out _);
}
