using System.Globalization;
using System.Text.RegularExpressions;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// The names inside a run folder: checkpoints under <c>checkpoints/</c> named <c>&lt;run&gt;-s&lt;step:8&gt;</c>,
/// temporary save folders (<c>.tmp-…</c>) and quarantined ones (<c>&lt;name&gt;.corrupt-&lt;utc&gt;</c>).
/// </summary>
public static partial class CheckpointNames
{
    public const string Folder = "checkpoints";
    public const string TempPrefix = ".tmp-";
    public const string CorruptMarker = ".corrupt-";
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "state.json";
    public const string HyperparametersFile = "hyperparameters.yaml";
    public const string DatasetFile = "dataset.json";
    public const string EnvironmentFile = "environment.json";

    /// <summary>Every file a complete checkpoint has, the checksum list last.</summary>
    public static readonly string[] ExpectedFiles =
    {
        ModelFile, OptimizerFile, StateFile, HyperparametersFile, DatasetFile, EnvironmentFile, Checksums.FileName,
    };

    public static string For(string runName, long step) => $"{runName}-s{step.ToString("D8", CultureInfo.InvariantCulture)}";

    public static string CheckpointsDirectory(string runDirectory) => Path.Combine(runDirectory, Folder);

    /// <summary>The step in a checkpoint folder name, or null when the name is not one.</summary>
    public static long? StepOf(string name)
    {
        var m = NamePattern().Match(name);
        return m.Success ? long.Parse(m.Groups["step"].Value, CultureInfo.InvariantCulture) : null;
    }

    public static bool IsQuarantined(string name) => name.Contains(CorruptMarker, StringComparison.Ordinal);

    public static bool IsTemporary(string name) => name.StartsWith(TempPrefix, StringComparison.Ordinal);

    public static string QuarantineName(string name, DateTime utc) =>
        name + CorruptMarker + utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<run>.+)-s(?<step>\d{8,})(\.corrupt-\d{8}T\d{6}Z)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
