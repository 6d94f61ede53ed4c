namespace KohyaPS.Contracts;

/// <summary>
/// One option that differs between two hyperparameter sets, as Compare-KohyaHyperparameterSet returns it and
/// as a refused resume lists it.
/// </summary>
public sealed class KohyaHyperparameterDifference
{
    /// <summary>The option as Section.Option (Optimizer.LearningRate).</summary>
    public string Name { get; init; } = "";

    /// <summary>The value in the reference set (for a resume: the checkpoint's).</summary>
    public object? Reference { get; init; }

    /// <summary>The value in the other set (for a resume: the requested one).</summary>
    public object? Difference { get; init; }

    /// <summary>Cosmetic, Trajectory or Incompatible.</summary>
    public KohyaImpact Impact { get; init; }

    /// <summary>Why the difference has that impact, in a few words.</summary>
    public string Note { get; init; } = "";

    public override string ToString() => $"{Name}: {Format(Reference)} -> {Format(Difference)} ({Impact})";

    /// <summary>A value as messages and the lineage show it: invariant numbers, [a, b] for lists, (empty) for none.</summary>
    public static string Format(object? value) => value switch
    {
        null => "(empty)",
        string s => s.Length == 0 ? "''" : s,
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IEnumerable<string> list => "[" + string.Join(", ", list) + "]",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
