using System.Text.Json;
using KohyaPS.Contracts;
using Tomlyn;
using Tomlyn.Model;

namespace KohyaPS.Engine.Hyperparameters.Interop;

/// <summary>
/// Builds a hyperparameter set from a kohya_ss GUI JSON file, an sd-scripts --config_file TOML or sd-scripts
/// command-line arguments, by the documented key map (<see cref="KohyaKeyMap"/>). Options the source does not
/// name keep KohyaPS's defaults. Every key is accounted for: it set options (<see cref="HyperparameterImport.Applied"/>)
/// or it is listed with the reason it set nothing (<see cref="HyperparameterImport.NotApplied"/>; Active ones
/// ask for something KohyaPS does not do and become warnings). A mapped key whose value does not fit is an
/// error naming the key.
/// </summary>
public static class KohyaConfigImporter
{
    public static HyperparameterImport ImportKohyaSsJson(string path)
    {
        var entries = ReadJson(RequireFile(path), path);
        return Import(entries, KohyaConfigFormat.KohyaSsJson, path);
    }

    public static HyperparameterImport ImportSdScriptsToml(string path) =>
        Import(ReadToml(RequireFile(path), path), KohyaConfigFormat.SdScripts, path);

    /// <summary>sd-scripts arguments: <c>--key value</c>, <c>--key=value</c>, <c>--flag</c>; one string is split as a shell would.</summary>
    public static HyperparameterImport ImportSdScriptsArguments(IReadOnlyList<string> arguments)
    {
        var tokens = arguments.Count == 1 ? CommandLine.Split(arguments[0]) : arguments.ToList();
        var (entries, skipped) = CommandLine.Parse(tokens);
        var result = Import(entries, KohyaConfigFormat.SdScripts, "arguments");
        if (skipped.Count == 0)
            return result;
        var notes = result.NotApplied.Prepend(new ImportNote("(words before the first --flag)", string.Join(" ", skipped), "the launcher and script name; not settings", false)).ToList();
        return new HyperparameterImport { Set = result.Set, Applied = result.Applied, NotApplied = notes };
    }

    /// <summary>Maps raw key/value pairs of <paramref name="format"/>; <paramref name="source"/> names them in messages.</summary>
    public static HyperparameterImport Import(IEnumerable<KeyValuePair<string, object?>> entries, KohyaConfigFormat format, string source)
    {
        var context = new ImportContext(entries, format, source);
        foreach (var key in KohyaKeyMap.Keys.Where(k => k.Formats.Contains(format)))
        {
            if (!context.Raw.TryGetValue(key.Key, out var value) || context.IsHandled(key.Key))
                continue;
            if (ImportContext.IsEmpty(value))
                context.NotApplied(key.Key, value, "empty: not set", active: false);
            else
                key.Map(context, key.Key, value);
        }
        foreach (var (key, value) in context.Raw)
        {
            if (context.IsHandled(key))
                continue;
            if (KohyaKeyMap.Known.TryGetValue(key, out var known))
            {
                bool inert = known.NeverActive || ImportContext.IsOff(value) || known.Inert is not null && SameValue(known.Inert, value);
                context.NotApplied(key, value, known.Reason, active: !inert);
            }
            else
            {
                context.NotApplied(key, value, ImportContext.IsOff(value) ? "off or empty; no KohyaPS option" : "no KohyaPS option", active: !ImportContext.IsOff(value));
            }
        }
        Validate(context);
        return new HyperparameterImport { Set = context.Set, Applied = context.Applied, NotApplied = context.Notes };
    }

    private static void Validate(ImportContext context)
    {
        try
        {
            HyperparameterValidator.Validate(context.Set);
        }
        catch (KohyaException ex) when (ex.ErrorId == "InvalidHyperparameter")
        {
            var origins = context.Applied.Where(a => a.Options.Split(", ").Any(o => ex.Message.Contains(o.Split(' ')[0] + " ", StringComparison.Ordinal)))
                .Select(a => $"{a.Key} = {a.Value}");
            throw new KohyaException(ex.ErrorId, ex.Kind, $"{context.Source}: {ex.Message} From: {string.Join("; ", origins)}.", ex, ex.Target)
            {
                RecommendedAction = "Correct the value in the source file, or import it and change the option on the object before using it.",
            };
        }
    }

    private static bool SameValue(object inert, object? value) => inert switch
    {
        string s => string.Equals(s, value?.ToString()?.Trim(), StringComparison.OrdinalIgnoreCase),
        _ => HyperparameterValues.TryConvert(value, inert.GetType(), out var v) && Equals(v, inert),
    };

    private static string RequireFile(string path)
    {
        if (!File.Exists(path))
            throw new KohyaException("HyperparameterFileNotFound", KohyaErrorKind.ObjectNotFound, $"Hyperparameter file '{path}' does not exist.", target: path);
        return File.ReadAllText(path);
    }

    private static List<KeyValuePair<string, object?>> ReadJson(string text, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new KohyaException("HyperparameterImportInvalid", KohyaErrorKind.InvalidData, $"{source}: a kohya_ss configuration is a JSON object of settings.", target: source);
            return document.RootElement.EnumerateObject().Select(p => new KeyValuePair<string, object?>(p.Name, FromJson(p.Value))).ToList();
        }
        catch (JsonException ex)
        {
            throw new KohyaException("HyperparameterImportInvalid", KohyaErrorKind.InvalidData, $"{source}: not valid JSON: {ex.Message}", ex, source);
        }
    }

    private static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        _ => null,
    };

    /// <summary>sd-scripts reads the TOML's top-level keys and, one level down, every table's keys into one namespace.</summary>
    private static List<KeyValuePair<string, object?>> ReadToml(string text, string source)
    {
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(text) ?? new TomlTable();
        }
        catch (TomlException ex)
        {
            throw new KohyaException("HyperparameterImportInvalid", KohyaErrorKind.InvalidData, $"{source}: not valid TOML: {ex.Message}", ex, source);
        }
        if (root.ContainsKey("datasets"))
            throw new KohyaException("HyperparameterImportInvalid", KohyaErrorKind.InvalidArgument,
                $"{source} is a kohya dataset configuration ([[datasets]]), not an sd-scripts training configuration.", target: source)
            {
                RecommendedAction = "Give a dataset TOML to -DatasetPath of Invoke-KohyaTraining; import the --config_file TOML instead.",
            };
        var entries = new List<KeyValuePair<string, object?>>();
        foreach (var (key, value) in root)
        {
            if (value is TomlTable table)
                entries.AddRange(table.Select(kv => new KeyValuePair<string, object?>(kv.Key, FromToml(kv.Value))));
            else
                entries.Add(new(key, FromToml(value)));
        }
        return entries;
    }

    private static object? FromToml(object? value) => value switch
    {
        TomlArray array => array.Select(FromToml).ToList(),
        TomlTableArray tables => tables.Select(t => (object?)t.ToDictionary(kv => kv.Key, kv => FromToml(kv.Value))).ToList(),
        TomlTable table => table.ToDictionary(kv => kv.Key, kv => FromToml(kv.Value)),
        _ => value,
    };
}
