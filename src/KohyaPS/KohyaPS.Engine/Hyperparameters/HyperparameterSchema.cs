using System.ComponentModel;
using System.Reflection;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>One option of a hyperparameter set: where it lives, its type, default, description and impact.</summary>
public sealed class HyperparameterOption
{
    internal HyperparameterOption(PropertyInfo section, PropertyInfo property, object? defaultValue)
    {
        SectionProperty = section;
        Property = property;
        Default = defaultValue;
        Description = property.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "";
        var impact = property.GetCustomAttribute<ImpactAttribute>()
            ?? throw new InvalidOperationException($"{section.Name}.{property.Name} has no [Impact]: every option must be classified.");
        Impact = impact.Impact;
        CaseInsensitive = impact.CaseInsensitive;
    }

    public PropertyInfo SectionProperty { get; }
    public PropertyInfo Property { get; }
    public string Section => SectionProperty.Name;
    public string Name => Property.Name;

    /// <summary>Section.Option, the name users write in -Override and see in differences.</summary>
    public string Path => Section + "." + Name;
    public Type ValueType => Property.PropertyType;
    public object? Default { get; }
    public string Description { get; }
    public KohyaImpact Impact { get; }
    public bool CaseInsensitive { get; }

    public object? Get(KohyaHyperparameterSet set) => Property.GetValue(SectionProperty.GetValue(set));

    public void Set(KohyaHyperparameterSet set, object? value) => Property.SetValue(SectionProperty.GetValue(set), value);

    public override string ToString() => Path;
}

/// <summary>
/// The shape of <see cref="KohyaHyperparameterSet"/> read once by reflection: its sections in declaration order
/// and every option with its default, description and impact. YAML, overrides, imports and comparisons all
/// walk this, so a new option needs no code beyond its property.
/// </summary>
public static class HyperparameterSchema
{
    private static readonly Dictionary<string, HyperparameterOption> ByPath;

    static HyperparameterSchema()
    {
        var defaults = new KohyaHyperparameterSet();
        Sections = typeof(KohyaHyperparameterSet).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.CanWrite).OrderBy(p => p.MetadataToken).ToList();
        Options = Sections.SelectMany(section => section.PropertyType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanRead && p.CanWrite).OrderBy(p => p.MetadataToken)
                .Select(p => new HyperparameterOption(section, p, p.GetValue(section.GetValue(defaults)))))
            .ToList();
        ByPath = Options.ToDictionary(o => o.Path, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The sections (Model, Network, …) in the order YAML writes them.</summary>
    public static IReadOnlyList<PropertyInfo> Sections { get; }

    /// <summary>Every option of every section, in order.</summary>
    public static IReadOnlyList<HyperparameterOption> Options { get; }

    public static IEnumerable<HyperparameterOption> OptionsOf(PropertyInfo section) => Options.Where(o => o.SectionProperty == section);

    /// <summary>The option named Section.Option (case-insensitive), or null.</summary>
    public static HyperparameterOption? Find(string path) => ByPath.GetValueOrDefault(path.Trim());

    public static PropertyInfo? FindSection(string name) =>
        Sections.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The option, or a <c>HyperparameterUnknownKey</c> error that says what exists.</summary>
    public static HyperparameterOption Require(string path, string? where = null)
    {
        if (Find(path) is { } option)
            return option;
        string prefix = where is null ? "" : where + ": ";
        int dot = path.IndexOf('.');
        var section = dot > 0 ? FindSection(path[..dot]) : null;
        string hint = section is not null
            ? $"{section.Name} has: {string.Join(", ", OptionsOf(section).Select(o => o.Name))}."
            : dot < 0
                ? "Name options as Section.Option, for example Optimizer.LearningRate."
                : $"The sections are: {string.Join(", ", Sections.Select(s => s.Name))}.";
        throw new KohyaException("HyperparameterUnknownKey", KohyaErrorKind.InvalidArgument,
            $"{prefix}'{path}' is not a hyperparameter option. {hint}", target: path);
    }
}
