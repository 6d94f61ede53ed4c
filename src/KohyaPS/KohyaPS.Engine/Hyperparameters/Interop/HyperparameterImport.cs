using KohyaPS.Contracts;

namespace KohyaPS.Engine.Hyperparameters.Interop;

/// <summary>The foreign configuration formats Import-KohyaHyperparameterSet reads besides our YAML.</summary>
public enum KohyaConfigFormat
{
    /// <summary>A kohya_ss GUI configuration (flat JSON object).</summary>
    KohyaSsJson,

    /// <summary>kohya sd-scripts: a --config_file TOML, or its --flag value command-line arguments.</summary>
    SdScripts,
}

/// <summary>A source key that set options.</summary>
public sealed record ImportedKey(string Key, string Value, string Options);

/// <summary>A source key that set nothing, and why. <see cref="Active"/>: it asks for something (a warning); otherwise it is off or empty.</summary>
public sealed record ImportNote(string Key, string Value, string Reason, bool Active)
{
    public override string ToString() => $"'{Key}' = {Value}: {Reason}";
}

/// <summary>What an import produced: the set, which keys set which options, and every key that set nothing.</summary>
public sealed class HyperparameterImport
{
    public required KohyaHyperparameterSet Set { get; init; }
    public required IReadOnlyList<ImportedKey> Applied { get; init; }
    public required IReadOnlyList<ImportNote> NotApplied { get; init; }
}
