using System.Buffers.Binary;
using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints.Safetensors;

namespace KohyaPS.Engine.Interop;

/// <summary>
/// Reads kohya-format LoRA files (<c>networks.lora</c> of sd-scripts and the tools that share its naming). The
/// file goes through our safetensors reader first, so a file that breaks the format raises
/// <see cref="SafetensorsFormatException"/>. Everything else that is wrong with a readable file — a module missing
/// a tensor, ranks that disagree, no LoRA keys at all, a non-finite alpha, a hash that does not match — comes back
/// as <see cref="KohyaLoraInfo.Findings"/>. Only the header and the alpha scalars are read, plus the data once, in
/// a stream, when hashes are verified. Never needs libtorch.
/// </summary>
public static class KohyaLoraReader
{
    private const int MaxListedNames = 5;

    /// <summary>Reads and checks a LoRA file.</summary>
    /// <param name="verifyHashes">Recompute <c>sshs_model_hash</c> (streams the whole data once) and <c>sshs_legacy_hash</c> (64 KiB).</param>
    /// <exception cref="KohyaException"><c>ForeignCheckpointPathNotFound</c>; <see cref="SafetensorsFormatException"/> for format violations.</exception>
    public static KohyaLoraInfo Read(string path, bool verifyHashes = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new KohyaException(InteropErrorIds.PathNotFound, KohyaErrorKind.ObjectNotFound, $"LoRA file '{path}' does not exist.", target: path);
        using var file = SafetensorsFile.Open(path);
        return Describe(file, verifyHashes);
    }

    /// <summary>True when the header names at least one kohya LoRA tensor (cheap: no data is read).</summary>
    public static bool HasLoraTensors(SafetensorsHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        return header.Entries.Any(e => KohyaLoraKeys.IsLoraTensor(e.Name));
    }

    /// <summary>Describes an already opened file (see <see cref="Read"/>).</summary>
    public static KohyaLoraInfo Describe(SafetensorsFile file, bool verifyHashes)
    {
        ArgumentNullException.ThrowIfNull(file);
        var findings = new List<KohyaInteropFinding>();
        var modules = DescribeModules(file, findings);

        var ranks = modules.Where(m => m.Rank is not null).Select(m => m.Rank!.Value).Distinct().Order().ToArray();
        var alphas = modules.Where(m => m.Alpha is { } a && double.IsFinite(a)).Select(m => m.Alpha!.Value).Distinct().Order().ToArray();
        if (modules.Count == 0)
            findings.Add(Finding(InteropErrorIds.LoraNoModules, KohyaFindingSeverity.Error,
                $"'{file.Path}' holds no kohya LoRA tensors ('lora_unet_…' / 'lora_te…' + '.lora_down.weight', '.lora_up.weight', '.alpha'); it is not a kohya LoRA.", file.Path));
        if (ranks.Length > 1)
            findings.Add(Finding(InteropErrorIds.LoraRanksVary, KohyaFindingSeverity.Information,
                $"Module ranks differ: {string.Join(", ", ranks)}.", file.Path));

        var metadata = file.Metadata;
        var typed = new MetadataReader(metadata, findings, file.Path);
        long? metaDim = typed.Int("ss_network_dim");
        double? metaAlpha = typed.Float("ss_network_alpha");
        if (metaDim is { } d && ranks.Length > 0 && !ranks.Any(r => r == d))
            findings.Add(Finding(InteropErrorIds.LoraDimMismatch, KohyaFindingSeverity.Warning,
                $"ss_network_dim is {d}, but the modules' ranks are {string.Join(", ", ranks)}.", "ss_network_dim"));
        if (metaAlpha is { } a && alphas.Length > 0 && !alphas.Any(x => CloseEnough(x, a)))
            findings.Add(Finding(InteropErrorIds.LoraAlphaMismatch, KohyaFindingSeverity.Warning,
                $"ss_network_alpha is {PythonText.Float(a)}, but the modules' alphas are {string.Join(", ", alphas.Select(PythonText.Float))}.", "ss_network_alpha"));

        int? metaDimValue = metaDim is > 0 and <= int.MaxValue ? (int)metaDim : null;
        int? dim = metaDimValue ?? MostCommon(modules.Where(m => m.Rank is not null).Select(m => m.Rank!.Value));
        string dimSource = metaDimValue is not null ? "Metadata" : dim is null ? "None" : "Tensors";

        var (modelCheck, storedModel, computedModel) = CheckModelHash(file, verifyHashes, findings);
        var (legacyCheck, storedLegacy, computedLegacy) = CheckLegacyHash(file, verifyHashes, findings);

        return new KohyaLoraInfo
        {
            Path = file.Path,
            FileLength = file.Header.FileLength,
            TensorCount = file.Entries.Count,
            Modules = modules,
            UNetModuleCount = modules.Count(m => m.Component == KohyaLoraComponent.UNet),
            TextEncoderModuleCount = modules.Count(m => m.Component != KohyaLoraComponent.UNet),
            NetworkDim = dim,
            NetworkDimSource = dimSource,
            Ranks = ranks,
            NetworkAlpha = metaAlpha ?? MostCommon(modules.Where(m => m.Alpha is { } x && double.IsFinite(x)).Select(m => m.Alpha!.Value)),
            AlphaValues = alphas,
            Metadata = Copy(metadata, _ => true),
            TrainingMetadata = Copy(metadata, k => k.StartsWith("ss_", StringComparison.Ordinal)),
            ModelSpec = Copy(metadata, k => k.StartsWith("modelspec.", StringComparison.Ordinal)),
            Steps = typed.Int("ss_steps"),
            Epoch = typed.Int("ss_epoch"),
            LearningRate = typed.Float("ss_learning_rate"),
            NetworkModule = typed.Text("ss_network_module"),
            BaseModelVersion = typed.Text("ss_base_model_version"),
            OutputName = typed.Text("ss_output_name"),
            TrainingStartedAt = typed.UnixTime("ss_training_started_at"),
            TrainingFinishedAt = typed.UnixTime("ss_training_finished_at"),
            ModelHashCheck = modelCheck,
            StoredModelHash = storedModel,
            ComputedModelHash = computedModel,
            LegacyHashCheck = legacyCheck,
            StoredLegacyHash = storedLegacy,
            ComputedLegacyHash = computedLegacy,
            Findings = findings,
        };
    }

    private sealed class Parts
    {
        public KohyaLoraComponent Component;
        public SafetensorsEntry? Down;
        public SafetensorsEntry? Up;
        public SafetensorsEntry? Alpha;
    }

    private static List<KohyaLoraModuleInfo> DescribeModules(SafetensorsFile file, List<KohyaInteropFinding> findings)
    {
        var byModule = new SortedDictionary<string, Parts>(StringComparer.Ordinal);
        var unrecognized = new List<string>();
        foreach (var entry in file.Entries)
        {
            if (!KohyaLoraKeys.TryParse(entry.Name, out string? module, out var component, out var kind))
            {
                unrecognized.Add(entry.Name);
                continue;
            }
            if (!byModule.TryGetValue(module, out var parts))
                byModule[module] = parts = new Parts { Component = component };
            switch (kind)
            {
                case KohyaLoraTensorKind.Down: parts.Down = entry; break;
                case KohyaLoraTensorKind.Up: parts.Up = entry; break;
                default: parts.Alpha = entry; break;
            }
        }
        if (unrecognized.Count > 0)
            findings.Add(Finding(InteropErrorIds.LoraUnrecognizedTensor, KohyaFindingSeverity.Warning,
                $"{unrecognized.Count} tensor(s) are not kohya LoRA tensors (e.g. {Names(unrecognized)}); loaders that only know networks.lora ignore or reject them.",
                unrecognized[0]));

        var modules = new List<KohyaLoraModuleInfo>(byModule.Count);
        foreach (var (name, parts) in byModule)
        {
            int? downRank = CheckWeight(parts.Down, name, isDown: true, findings);
            int? upRank = CheckWeight(parts.Up, name, isDown: false, findings);
            if (parts.Down is null && parts.Up is not null)
                findings.Add(Finding(InteropErrorIds.LoraMissingDown, KohyaFindingSeverity.Error, $"Module '{name}' has lora_up.weight but no lora_down.weight.", name));
            if (parts.Up is null && parts.Down is not null)
                findings.Add(Finding(InteropErrorIds.LoraMissingUp, KohyaFindingSeverity.Error, $"Module '{name}' has lora_down.weight but no lora_up.weight.", name));
            if (parts.Down is null && parts.Up is null)
                findings.Add(Finding(InteropErrorIds.LoraMissingDown, KohyaFindingSeverity.Error, $"Module '{name}' has an alpha but neither lora_down nor lora_up.", name));
            if (parts.Alpha is null && (parts.Down ?? parts.Up) is not null)
                findings.Add(Finding(InteropErrorIds.LoraMissingAlpha, KohyaFindingSeverity.Warning, $"Module '{name}' has no alpha; loaders use its rank (scale 1).", name));
            if (downRank is { } dr && upRank is { } ur && dr != ur)
                findings.Add(Finding(InteropErrorIds.LoraRankMismatch, KohyaFindingSeverity.Error,
                    $"Module '{name}': lora_down has rank {dr} ({Shape(parts.Down!)}) but lora_up has rank {ur} ({Shape(parts.Up!)}).", name));
            if (parts.Down is { } down && parts.Up is { } up && downRank is not null && upRank is not null && down.Shape.Count != up.Shape.Count)
                findings.Add(Finding(InteropErrorIds.LoraUnexpectedShape, KohyaFindingSeverity.Error,
                    $"Module '{name}': lora_down is {Shape(down)} but lora_up is {Shape(up)} (one Linear, one Conv2d).", name));

            modules.Add(new KohyaLoraModuleInfo
            {
                Name = name,
                Component = parts.Component,
                Rank = downRank,
                Alpha = ReadAlpha(file, parts.Alpha, name, findings),
                IsConvolution = parts.Down?.Shape.Count == 4,
                HasDown = parts.Down is not null,
                HasUp = parts.Up is not null,
            });
        }
        return modules;
    }

    /// <summary>Checks dtype and shape of a lora_down/lora_up; returns the rank it implies, or null.</summary>
    private static int? CheckWeight(SafetensorsEntry? entry, string module, bool isDown, List<KohyaInteropFinding> findings)
    {
        if (entry is null)
            return null;
        string what = isDown ? "lora_down" : "lora_up";
        if (!IsFloat(entry.Dtype))
        {
            findings.Add(Finding(InteropErrorIds.LoraUnexpectedDtype, KohyaFindingSeverity.Error,
                $"Module '{module}': {what} is {entry.Dtype.GetName()}, not a floating-point type.", entry.Name));
            return null;
        }
        if (entry.Shape.Count is not (2 or 4))
        {
            findings.Add(Finding(InteropErrorIds.LoraUnexpectedShape, KohyaFindingSeverity.Error,
                $"Module '{module}': {what} is {Shape(entry)}; expected 2-D (Linear) or 4-D (Conv2d).", entry.Name));
            return null;
        }
        long rank = isDown ? entry.Shape[0] : entry.Shape[1];
        if (rank is <= 0 or > int.MaxValue || entry.ElementCount == 0)
        {
            findings.Add(Finding(InteropErrorIds.LoraUnexpectedShape, KohyaFindingSeverity.Error,
                $"Module '{module}': {what} is {Shape(entry)}, which has no elements.", entry.Name));
            return null;
        }
        return (int)rank;
    }

    private static double? ReadAlpha(SafetensorsFile file, SafetensorsEntry? entry, string module, List<KohyaInteropFinding> findings)
    {
        if (entry is null)
            return null;
        if (!IsFloat(entry.Dtype) && entry.Dtype is not (SafetensorsDtype.I64 or SafetensorsDtype.I32))
        {
            findings.Add(Finding(InteropErrorIds.LoraUnexpectedDtype, KohyaFindingSeverity.Error,
                $"Module '{module}': alpha is {entry.Dtype.GetName()}, not a number type.", entry.Name));
            return null;
        }
        if (entry.ElementCount != 1)
        {
            findings.Add(Finding(InteropErrorIds.LoraUnexpectedShape, KohyaFindingSeverity.Error,
                $"Module '{module}': alpha is {Shape(entry)}; expected a scalar.", entry.Name));
            return null;
        }
        byte[] b = file.ReadBytes(entry.Name);
        double value = entry.Dtype switch
        {
            SafetensorsDtype.F64 => BinaryPrimitives.ReadDoubleLittleEndian(b),
            SafetensorsDtype.F32 => BinaryPrimitives.ReadSingleLittleEndian(b),
            SafetensorsDtype.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
            SafetensorsDtype.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
            SafetensorsDtype.I64 => BinaryPrimitives.ReadInt64LittleEndian(b),
            _ => BinaryPrimitives.ReadInt32LittleEndian(b),
        };
        if (!double.IsFinite(value))
            findings.Add(Finding(InteropErrorIds.LoraAlphaNotFinite, KohyaFindingSeverity.Error,
                $"Module '{module}': alpha is {PythonText.Float(value)}; the module's output would be {PythonText.Float(value)} × its update.", entry.Name));
        return value;
    }

    private static (KohyaHashCheck, string?, string?) CheckModelHash(SafetensorsFile file, bool verify, List<KohyaInteropFinding> findings)
    {
        if (!file.Metadata.TryGetValue(KohyaLoraHashes.ModelHashKey, out string? stored))
            return (KohyaHashCheck.Absent, null, null);
        if (!verify)
            return (KohyaHashCheck.NotChecked, stored, null);
        string computed = file.ComputeDataSha256();
        if (string.Equals(stored.Trim(), computed, StringComparison.OrdinalIgnoreCase))
            return (KohyaHashCheck.Match, stored, computed);
        findings.Add(Finding(InteropErrorIds.LoraHashMismatch, KohyaFindingSeverity.Error,
            $"'{file.Path}': sshs_model_hash is '{Shorten(stored)}' but the data after the header hashes to '{computed}': the tensor data was changed or damaged after it was written.",
            KohyaLoraHashes.ModelHashKey));
        return (KohyaHashCheck.Mismatch, stored, computed);
    }

    private static (KohyaHashCheck, string?, string?) CheckLegacyHash(SafetensorsFile file, bool verify, List<KohyaInteropFinding> findings)
    {
        if (!file.Metadata.TryGetValue(KohyaLoraHashes.LegacyHashKey, out string? stored))
            return (KohyaHashCheck.Absent, null, null);
        string? computed = verify ? KohyaLoraHashes.ComputeLegacyHash(file) : null;
        if (computed is null)
            return (KohyaHashCheck.NotChecked, stored, null);
        if (string.Equals(stored.Trim(), computed, StringComparison.OrdinalIgnoreCase))
            return (KohyaHashCheck.Match, stored, computed);
        findings.Add(Finding(InteropErrorIds.LoraLegacyHashMismatch, KohyaFindingSeverity.Warning,
            $"'{file.Path}': sshs_legacy_hash is '{Shorten(stored)}' but recomputes to '{computed}' (expected for files written with safetensors before 0.3.1 or with edited ss_ metadata).",
            KohyaLoraHashes.LegacyHashKey));
        return (KohyaHashCheck.Mismatch, stored, computed);
    }

    /// <summary>Typed reads of well-known ss_* values; a value that does not parse adds a warning and reads as null.</summary>
    private sealed class MetadataReader(IReadOnlyDictionary<string, string> metadata, List<KohyaInteropFinding> findings, string path)
    {
        public string? Text(string key) => metadata.TryGetValue(key, out string? v) && !PythonText.IsNone(v) ? v : null;

        public long? Int(string key)
        {
            if (Text(key) is not { } v) return null;
            if (PythonText.TryParseInt(v, out long n)) return n;
            // sd-scripts writes floats for some int-like settings in older versions ("16.0"); accept exact integers.
            if (PythonText.TryParseFloat(v, out double f) && double.IsFinite(f) && f == Math.Floor(f) && Math.Abs(f) < 9e15) return (long)f;
            return Invalid<long>(key, v, "an integer");
        }

        public double? Float(string key)
        {
            if (Text(key) is not { } v) return null;
            return PythonText.TryParseFloat(v, out double f) ? f : Invalid<double>(key, v, "a number");
        }

        public DateTimeOffset? UnixTime(string key)
        {
            if (Text(key) is not { } v) return null;
            if (PythonText.TryParseFloat(v, out double s) && double.IsFinite(s) && s >= 0 && s < 253402300800) // before year 10000
                return DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(s * TimeSpan.TicksPerSecond));
            return Invalid<DateTimeOffset>(key, v, "a Unix time in seconds");
        }

        private T? Invalid<T>(string key, string value, string expected) where T : struct
        {
            findings.Add(Finding(InteropErrorIds.LoraMetadataInvalid, KohyaFindingSeverity.Warning,
                $"'{path}': metadata {key} = '{Shorten(value)}' is not {expected}.", key));
            return null;
        }
    }

    private static bool IsFloat(SafetensorsDtype dtype) =>
        dtype is SafetensorsDtype.F16 or SafetensorsDtype.BF16 or SafetensorsDtype.F32 or SafetensorsDtype.F64;

    private static bool CloseEnough(double a, double b) => Math.Abs(a - b) <= Math.Max(1.0, Math.Abs(b)) / 128; // bf16 keeps 8 bits

    private static T? MostCommon<T>(IEnumerable<T> values) where T : struct =>
        values.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => (T?)g.Key).FirstOrDefault();

    private static IReadOnlyDictionary<string, string> Copy(IReadOnlyDictionary<string, string> metadata, Func<string, bool> keep) =>
        new SortedDictionary<string, string>(metadata.Where(kv => keep(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), StringComparer.Ordinal);

    private static string Shape(SafetensorsEntry e) => "[" + string.Join(", ", e.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static string Names(List<string> names) =>
        string.Join(", ", names.Take(MaxListedNames).Select(n => "'" + Shorten(n) + "'")) + (names.Count > MaxListedNames ? ", …" : "");

    private static string Shorten(string s) => s.Length <= 100 ? s : s[..100] + "…";

    internal static KohyaInteropFinding Finding(string id, KohyaFindingSeverity severity, string message, string? target) =>
        new() { ErrorId = id, Severity = severity, Message = message, Target = target };
}
