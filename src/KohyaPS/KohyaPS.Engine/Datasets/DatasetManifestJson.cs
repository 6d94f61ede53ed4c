using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// A manifest on disk: camelCase JSON with <c>"format": "kohyaps-dataset-manifest"</c> and
/// <c>"formatVersion"</c>. Reading is strict: every property must be present with its type, unknown or
/// duplicated properties are errors, and the recorded hashes and summary must match the images — a manifest
/// that was edited by hand is refused rather than trusted.
/// </summary>
public static class DatasetManifestJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        AllowDuplicateProperties = false,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { RequireEveryProperty } },
    };

    public static string Serialize(KohyaDatasetManifest manifest) => JsonSerializer.Serialize(manifest, Options);

    /// <summary>Writes the manifest to a file (UTF-8, no BOM).</summary>
    public static void Write(KohyaDatasetManifest manifest, string path) =>
        File.WriteAllText(path, Serialize(manifest), new System.Text.UTF8Encoding(false));

    /// <summary>
    /// Reads a manifest file, or the <c>dataset.json</c> of a checkpoint folder. Throws the
    /// <see cref="DatasetManifestErrors"/> ids: NotFound, Syntax, FormatUnknown, VersionUnsupported, Invalid, HashMismatch.
    /// </summary>
    public static KohyaDatasetManifest Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, CheckpointNames.DatasetFile) : path;
        if (!File.Exists(file))
            throw DatasetManifestErrors.NotFound(file);
        return Parse(File.ReadAllText(file), file);
    }

    /// <summary>Whether the JSON text claims to be a manifest (has the format name); false for older checkpoints' file lists.</summary>
    public static bool IsManifest(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String
                && f.GetString() == KohyaDatasetManifest.FormatName;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static KohyaDatasetManifest Parse(string json, string source)
    {
        CheckHeader(json, source);
        KohyaDatasetManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<KohyaDatasetManifest>(json, Options);
        }
        catch (JsonException ex)
        {
            string where = ex.Path is null ? "" : $" at {ex.Path}" + (ex.LineNumber is { } line ? $" (line {line + 1})" : "");
            throw DatasetManifestErrors.Invalid(source, $"{FirstSentence(ex.Message)}{where}.", ex);
        }
        if (manifest is null)
            throw DatasetManifestErrors.Invalid(source, "it is null.");
        DatasetManifestValidator.Validate(manifest, source);
        return manifest;
    }

    private static void CheckHeader(string json, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw DatasetManifestErrors.Syntax(source, ex.Message, ex);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw DatasetManifestErrors.FormatUnknown(source, null);
            string? format = root.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            if (format != KohyaDatasetManifest.FormatName)
                throw DatasetManifestErrors.FormatUnknown(source, format);
            if (!root.TryGetProperty("formatVersion", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version))
                throw DatasetManifestErrors.Invalid(source, "\"formatVersion\" is missing or not an integer.");
            if (version < 1 || version > KohyaDatasetManifest.CurrentFormatVersion)
                throw DatasetManifestErrors.VersionUnsupported(source, version);
        }
    }

    private static void RequireEveryProperty(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object)
            return;
        foreach (var property in info.Properties)
            property.IsRequired = property.Set is not null;
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }
}
