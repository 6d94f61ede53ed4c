using Tomlyn.Model;

namespace KohyaPS.Engine.Data;

/// <summary>
/// The schema of a kohya dataset TOML as KohyaPS reads it: which keys exist at which level, and how a raw TOML
/// value becomes a typed one. Keys kohya knows but KohyaPS does not implement are accepted only with their
/// neutral (default) value, so that GUI-generated files that spell out every default still load.
/// </summary>
internal static class DatasetTomlKeys
{
    /// <summary>Dataset-wide keys, allowed in [general] and [[datasets]].</summary>
    public static readonly IReadOnlySet<string> Dataset = new HashSet<string>(StringComparer.Ordinal)
    {
        "resolution", "batch_size", "enable_bucket", "min_bucket_reso", "max_bucket_reso", "bucket_reso_steps", "bucket_no_upscale",
    };

    /// <summary>Subset keys that may also be given higher up and are inherited downward.</summary>
    public static readonly IReadOnlySet<string> SubsetInherited = new HashSet<string>(StringComparer.Ordinal)
    {
        "num_repeats", "caption_extension", "shuffle_caption", "keep_tokens", "flip_aug", "color_aug", "random_crop",
        "caption_dropout_rate", "class_tokens",
    };

    /// <summary>Subset keys allowed only in [[datasets.subsets]] (as in kohya's schema).</summary>
    public static readonly IReadOnlySet<string> SubsetOnly = new HashSet<string>(StringComparer.Ordinal) { "image_dir", "is_reg" };

    /// <summary>kohya keys KohyaPS does not implement, with the value that means "off"; null = no value is accepted.</summary>
    public static readonly IReadOnlyDictionary<string, object?> NotImplemented = new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["caption_separator"] = ",",
        ["keep_tokens_separator"] = "",
        ["secondary_separator"] = "",
        ["enable_wildcard"] = false,
        ["caption_prefix"] = "",
        ["caption_suffix"] = "",
        ["caption_dropout_every_n_epochs"] = 0L,
        ["caption_tag_dropout_rate"] = 0L,
        ["token_warmup_min"] = 1L,
        ["token_warmup_step"] = 0L,
        ["cache_info"] = false,
        ["alpha_mask"] = false,
        ["network_multiplier"] = 1L,
        ["face_crop_aug_range"] = null,
        ["metadata_file"] = null,
        ["conditioning_data_dir"] = null,
        ["custom_attributes"] = null,
    };

    /// <summary>Throws unless <paramref name="key"/> may appear in a section of the given level.</summary>
    public static void Check(string key, object? value, Level level, string section, string source)
    {
        bool allowed = level switch
        {
            Level.General or Level.Dataset => Dataset.Contains(key) || SubsetInherited.Contains(key),
            Level.Subset => SubsetInherited.Contains(key) || SubsetOnly.Contains(key),
            _ => false,
        };
        if (allowed)
            return;
        if (NotImplemented.TryGetValue(key, out object? neutral))
        {
            if (neutral is not null && IsNeutral(value, neutral))
                return;
            throw DatasetErrors.Unsupported(key, section, source,
                neutral is null ? "remove it." : $"only its default ({DatasetErrors.Describe(neutral)}) is accepted.");
        }
        if (level == Level.Subset && Dataset.Contains(key))
            throw new KohyaException(DatasetErrors.UnknownDatasetKey, KohyaErrorKind.InvalidArgument,
                $"'{key}' in [{section}] of '{source}' is a dataset key: put it in [[datasets]] or [general].", target: key);
        if (level != Level.Subset && SubsetOnly.Contains(key))
            throw new KohyaException(DatasetErrors.UnknownDatasetKey, KohyaErrorKind.InvalidArgument,
                $"'{key}' in [{section}] of '{source}' belongs in [[datasets.subsets]].", target: key);
        throw DatasetErrors.UnknownKey(key, section, source);
    }

    private static bool IsNeutral(object? value, object neutral) => (value, neutral) switch
    {
        (string a, string b) => a == b,
        (bool a, bool b) => a == b,
        (long a, long b) => a == b,
        (double a, long b) => a == b,
        _ => false,
    };

    public enum Level
    {
        General,
        Dataset,
        Subset,
    }

    public static int Int(string key, object value, string section, string source, long min = 0, long max = int.MaxValue)
    {
        if (value is long l && l >= min && l <= max)
            return (int)l;
        string range = max == int.MaxValue ? (min == 0 ? "an integer of 0 or more" : $"an integer of {min} or more") : $"an integer from {min} to {max}";
        throw DatasetErrors.InvalidValue(key, section, source, range, value);
    }

    public static bool Bool(string key, object value, string section, string source) =>
        value is bool b ? b : throw DatasetErrors.InvalidValue(key, section, source, "true or false", value);

    public static string String(string key, object value, string section, string source) =>
        value is string s ? s : throw DatasetErrors.InvalidValue(key, section, source, "a string", value);

    /// <summary>A probability: an integer or a float from 0 to 1.</summary>
    public static double Rate(string key, object value, string section, string source)
    {
        double? d = value switch { long l => l, double x => x, _ => null };
        if (d is { } r && r >= 0 && r <= 1)
            return r;
        throw DatasetErrors.InvalidValue(key, section, source, "a number from 0 to 1", value);
    }

    /// <summary><c>resolution = 512</c> or <c>resolution = [768, 512]</c> (width, height).</summary>
    public static (int Width, int Height) Resolution(string key, object value, string section, string source)
    {
        if (value is long l && l >= 1 && l <= int.MaxValue)
            return ((int)l, (int)l);
        if (value is TomlArray { Count: 2 } a && a[0] is long w && a[1] is long h && w >= 1 && h >= 1 && w <= int.MaxValue && h <= int.MaxValue)
            return ((int)w, (int)h);
        throw DatasetErrors.InvalidValue(key, section, source, "a positive integer or [width, height]", value);
    }
}
