using System.Collections;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>
/// Settings given by name: <c>@{ 'Optimizer.LearningRate' = 5e-4 }</c>, or nested as
/// <c>@{ Optimizer = @{ LearningRate = 5e-4 } }</c> (the two forms mean the same and may be mixed). Names match
/// case-insensitively; every value is converted to its option's type up front, so a misspelt name or a value
/// of the wrong type is an error before anything runs.
/// </summary>
public sealed class HyperparameterOverrides
{
    private readonly List<(HyperparameterOption Option, object? Value)> _entries = new();

    public static HyperparameterOverrides Empty { get; } = new();

    public IReadOnlyList<(HyperparameterOption Option, object? Value)> Entries => _entries;

    public int Count => _entries.Count;

    public bool Names(HyperparameterOption option) => _entries.Any(e => e.Option == option);

    public bool Names(string path) => _entries.Any(e => e.Option.Path.Equals(path, StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads a (possibly nested) dictionary; <paramref name="where"/> prefixes messages (-Override, -Property).</summary>
    public static HyperparameterOverrides From(IDictionary? table, string where)
    {
        var result = new HyperparameterOverrides();
        if (table is not null)
            result.Add(table, prefix: null, where);
        return result;
    }

    /// <summary>Adds one named setting (converted now); naming an option twice is an error.</summary>
    public void Add(string path, object? value, string where)
    {
        var option = HyperparameterSchema.Require(path, where);
        if (Names(option))
            throw new KohyaException("HyperparameterGivenTwice", KohyaErrorKind.InvalidArgument,
                $"{where}: {option.Path} is given twice.", target: option.Path);
        if (!HyperparameterValues.TryConvert(value, option.ValueType, out var converted))
            throw HyperparameterValues.InvalidValue(option, value, where);
        _entries.Add((option, converted));
    }

    public void ApplyTo(KohyaHyperparameterSet set)
    {
        foreach (var (option, value) in _entries)
            option.Set(set, value is string[] list ? list.ToArray() : value);
    }

    private void Add(IDictionary table, string? prefix, string where)
    {
        foreach (DictionaryEntry entry in table)
        {
            string key = entry.Key?.ToString()?.Trim() ?? "";
            if (prefix is null && !key.Contains('.') && entry.Value is IDictionary nested && HyperparameterSchema.FindSection(key) is { } section)
                Add(nested, section.Name, where);
            else
                Add(prefix is null ? key : prefix + "." + key, entry.Value, where);
        }
    }
}
