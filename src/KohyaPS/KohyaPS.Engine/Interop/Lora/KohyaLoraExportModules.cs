using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Interop;

/// <summary>One module ready to write: CPU, contiguous, converted weights and a float32 scalar alpha.</summary>
internal sealed record KohyaLoraExportModule(string KohyaModule, string OurModule, Tensor Down, Tensor Up, Tensor Alpha, int Rank, double AlphaValue);

/// <summary>Groups our tensors into modules, checks them and converts them (inside the caller's dispose scope).</summary>
internal static class KohyaLoraExportModules
{
    private sealed class Parts
    {
        public string OurModule = "";
        public Tensor? Down, Up, Alpha;
    }

    public static List<KohyaLoraExportModule> Collect(IReadOnlyDictionary<string, Tensor> tensors, KohyaLoraKeyMap keyMap, KohyaLoraExportSettings settings)
    {
        var byModule = new SortedDictionary<string, Parts>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name is null || tensor is null)
                throw KohyaLoraExporter.Invalid("A tensor name or tensor is null.");
            if (!keyMap.TrySplitOurName(name, out string? component, out string? path, out var kind, out string? kohyaModule))
                _ = keyMap.ToKohyaName(name); // throws KohyaLoraKeyNotMapped with the explanation
            if (!byModule.TryGetValue(kohyaModule!, out var parts))
                byModule[kohyaModule!] = parts = new Parts { OurModule = component + "." + path };
            switch (kind)
            {
                case KohyaLoraTensorKind.Down: parts.Down = tensor; break;
                case KohyaLoraTensorKind.Up: parts.Up = tensor; break;
                default: parts.Alpha = tensor; break;
            }
        }
        if (byModule.Count == 0)
            throw KohyaLoraExporter.Invalid("There are no LoRA tensors to export.");

        var dtype = settings.SaveDtype switch
        {
            KohyaLoraSaveDtype.Float32 => ScalarType.Float32,
            KohyaLoraSaveDtype.Float16 => ScalarType.Float16,
            _ => ScalarType.BFloat16,
        };
        var modules = new List<KohyaLoraExportModule>(byModule.Count);
        foreach (var (kohya, p) in byModule)
        {
            if (p.Down is null || p.Up is null)
                throw KohyaLoraExporter.Invalid($"Module '{p.OurModule}' has no {(p.Down is null ? "lora_down.weight" : "lora_up.weight")}.", p.OurModule);
            int rank = CheckShapes(p.OurModule, p.Down, p.Up);
            var down = Convert(p.OurModule, "lora_down.weight", p.Down, dtype);
            var up = Convert(p.OurModule, "lora_up.weight", p.Up, dtype);
            var (alpha, alphaValue) = AlphaOf(p.OurModule, p.Alpha, settings.NetworkAlpha);
            modules.Add(new KohyaLoraExportModule(kohya, p.OurModule, down, up, alpha, rank, alphaValue));
        }
        return modules;
    }

    /// <summary><c>ss_network_dim</c>: the setting (which must be some module's rank), else the rank all modules share.</summary>
    public static int NetworkDim(List<KohyaLoraExportModule> modules, KohyaLoraExportSettings settings)
    {
        var ranks = modules.Select(m => m.Rank).Distinct().Order().ToArray();
        if (settings.NetworkDim is { } dim)
        {
            if (!ranks.Contains(dim))
                throw KohyaLoraExporter.Invalid($"NetworkDim is {dim}, but the modules' ranks are {string.Join(", ", ranks)}.", nameof(settings.NetworkDim));
            return dim;
        }
        if (ranks.Length != 1)
            throw KohyaLoraExporter.Invalid($"The modules have different ranks ({string.Join(", ", ranks)}); give NetworkDim for ss_network_dim.", nameof(settings.NetworkDim));
        return ranks[0];
    }

    /// <summary><c>ss_network_alpha</c>: the setting (which must be some module's alpha), else the alpha all modules share.</summary>
    public static double NetworkAlpha(List<KohyaLoraExportModule> modules, KohyaLoraExportSettings settings)
    {
        var alphas = modules.Select(m => m.AlphaValue).Distinct().Order().ToArray();
        if (settings.NetworkAlpha is { } alpha)
        {
            if (!alphas.Contains((double)(float)alpha))
                throw KohyaLoraExporter.Invalid($"NetworkAlpha is {PythonText.Float(alpha)}, but the modules' alphas are {string.Join(", ", alphas.Select(PythonText.Float))}.",
                    nameof(settings.NetworkAlpha));
            return alpha;
        }
        if (alphas.Length != 1)
            throw KohyaLoraExporter.Invalid($"The modules have different alphas ({string.Join(", ", alphas.Select(PythonText.Float))}); give NetworkAlpha for ss_network_alpha.",
                nameof(settings.NetworkAlpha));
        return alphas[0];
    }

    private static int CheckShapes(string module, Tensor down, Tensor up)
    {
        long[] d = down.shape, u = up.shape;
        bool linear = d.Length == 2 && u.Length == 2;
        bool conv = d.Length == 4 && u.Length == 4 && u[2] == 1 && u[3] == 1;
        if (!linear && !conv)
            throw KohyaLoraExporter.Invalid(
                $"Module '{module}': lora_down is [{Dims(d)}] and lora_up is [{Dims(u)}]; expected [rank, in] and [out, rank], or [rank, in, kh, kw] and [out, rank, 1, 1].", module);
        if (d[0] != u[1] || d[0] <= 0 || d[0] > int.MaxValue || down.numel() == 0 || up.numel() == 0)
            throw KohyaLoraExporter.Invalid($"Module '{module}': lora_down [{Dims(d)}] has rank {d[0]} but lora_up [{Dims(u)}] has rank {u[1]}.", module);
        return (int)d[0];
    }

    private static Tensor Convert(string module, string what, Tensor tensor, ScalarType dtype)
    {
        if (!tensor.is_floating_point())
            throw KohyaLoraExporter.Invalid($"Module '{module}': {what} is {tensor.dtype}, not a floating-point tensor.", module);
        var converted = tensor.detach().to(torch.CPU).to_type(dtype).contiguous();
        if (!torch.isfinite(converted).all().item<bool>())
            throw KohyaLoraExporter.Invalid(
                $"Module '{module}': {what} holds NaN or infinite values{(tensor.dtype == dtype ? "" : $" after conversion to {dtype} (values beyond its range)")}; a diverged run cannot be exported.", module);
        return converted;
    }

    private static (Tensor Alpha, double Value) AlphaOf(string module, Tensor? alpha, double? fallback)
    {
        double value;
        if (alpha is null)
        {
            value = fallback ?? throw KohyaLoraExporter.Invalid($"Module '{module}' has no alpha tensor; give NetworkAlpha.", module);
        }
        else
        {
            if (alpha.numel() != 1 || (!alpha.is_floating_point() && alpha.dtype is not (ScalarType.Int64 or ScalarType.Int32)))
                throw KohyaLoraExporter.Invalid($"Module '{module}': alpha must be one number, not a {alpha.dtype} tensor of shape [{Dims(alpha.shape)}].", module);
            value = alpha.detach().to(torch.CPU).to_type(ScalarType.Float64).reshape(1)[0].item<double>();
        }
        var scalar = torch.tensor((float)value, ScalarType.Float32);
        value = (float)value; // what the file holds
        if (!double.IsFinite(value) || value < 0)
            throw KohyaLoraExporter.Invalid($"Module '{module}': alpha {PythonText.Float(value)} is not a finite, non-negative number.", module);
        return (scalar, value);
    }

    private static string Dims(long[] shape) => string.Join(", ", shape.Select(x => x.ToString(CultureInfo.InvariantCulture)));
}
