using System.Collections;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Hyperparameters.Interop;

/// <summary>The state of one import: the raw keys, the set being built, and the record of what each key did.</summary>
internal sealed class ImportContext
{
    private readonly List<ImportedKey> _applied = new();
    private readonly List<ImportNote> _notes = new();
    private readonly HashSet<string> _handled = new(StringComparer.Ordinal);

    public ImportContext(IEnumerable<KeyValuePair<string, object?>> entries, KohyaConfigFormat format, string source)
    {
        var raw = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
            raw[key] = value; // argparse semantics: the last occurrence wins
        Raw = raw;
        Format = format;
        Source = source;
    }

    public IReadOnlyDictionary<string, object?> Raw { get; }
    public KohyaConfigFormat Format { get; }
    public string Source { get; }
    public KohyaHyperparameterSet Set { get; } = new();
    public IReadOnlyList<ImportedKey> Applied => _applied;
    public IReadOnlyList<ImportNote> Notes => _notes;

    public bool Has(string key) => Raw.TryGetValue(key, out var v) && !IsEmpty(v);

    public bool IsHandled(string key) => _handled.Contains(key);

    /// <summary>Marks a key whose parts were applied or reported one by one (optimizer_args).</summary>
    public void MarkHandled(string key) => _handled.Add(key);

    /// <summary>Converts <paramref name="value"/> for the option and sets it; a value that does not fit is an error naming the key.</summary>
    public void Apply(string key, string optionPath, object? value)
    {
        var option = HyperparameterSchema.Require(optionPath);
        if (!HyperparameterValues.TryConvert(value, option.ValueType, out var converted))
            throw new KohyaException("HyperparameterImportInvalidValue", KohyaErrorKind.InvalidData,
                $"{Source}: {key} = {Show(value)} does not fit {option.Path}, which takes {HyperparameterValues.Describe(option.ValueType)}.", target: key);
        option.Set(Set, converted);
        _handled.Add(key);
        var previous = _applied.FindIndex(a => a.Key == key);
        string text = $"{option.Path} = {HyperparameterValues.Format(converted)}";
        if (previous >= 0)
            _applied[previous] = _applied[previous] with { Options = _applied[previous].Options + ", " + text };
        else
            _applied.Add(new ImportedKey(key, Show(Raw.GetValueOrDefault(key, value)), text));
    }

    /// <summary>The error for a value of a mapped key that makes no sense.</summary>
    public KohyaException Invalid(string key, object? value, string expected) =>
        new("HyperparameterImportInvalidValue", KohyaErrorKind.InvalidData, $"{Source}: {key} = {Show(value)} is not valid here; expected {expected}.", target: key);

    /// <summary>Records a key that sets nothing; <paramref name="active"/> when it asks for something KohyaPS does not do.</summary>
    public void NotApplied(string key, object? value, string reason, bool active = true)
    {
        _handled.Add(key);
        _notes.Add(new ImportNote(key, Show(value), reason, active));
    }

    /// <summary>Empty as the kohya_ss GUI writes "not set": null, or blank text.</summary>
    public static bool IsEmpty(object? value) => value is null || value is string s && s.Trim().Length == 0;

    /// <summary>Off: empty, false, zero, an empty list, or text saying none/no/false/0.</summary>
    public static bool IsOff(object? value) => value switch
    {
        null => true,
        bool b => !b,
        string s => s.Trim().Length == 0 || s.Trim().ToLowerInvariant() is "none" or "no" or "false" or "0" or "0.0",
        IList list => list.Count == 0,
        _ when HyperparameterValues.TryConvert(value, typeof(double), out var d) => (double)d! == 0,
        _ => false,
    };

    public static string Show(object? value) => value switch
    {
        null => "(empty)",
        string s => $"'{s}'",
        IList list => "[" + string.Join(", ", list.Cast<object?>().Select(Show)) + "]",
        _ => HyperparameterValues.Format(value),
    };
}
