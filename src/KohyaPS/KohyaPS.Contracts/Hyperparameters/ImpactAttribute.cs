namespace KohyaPS.Contracts;

/// <summary>What changing an option does to a run that continues from a checkpoint.</summary>
public enum KohyaImpact
{
    /// <summary>Nothing any training step computes changes (output, sampling, logging, checkpoint cadence).</summary>
    Cosmetic,

    /// <summary>The run continues from the same state but takes another path (learning rate, batch size, seed, …).</summary>
    Trajectory,

    /// <summary>The saved state cannot carry over (architecture, network rank, optimizer type).</summary>
    Incompatible,
}

/// <summary>
/// Classifies a hyperparameter option for Compare-KohyaHyperparameterSet and the resume policy. Every option of
/// every section carries one; <see cref="CaseInsensitive"/> marks names (optimizer, schedule, preset) whose
/// spelling case does not matter when two sets are compared.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
public sealed class ImpactAttribute : Attribute
{
    public ImpactAttribute(KohyaImpact impact) => Impact = impact;

    public KohyaImpact Impact { get; }

    /// <summary>Values that differ only in letter case are the same setting.</summary>
    public bool CaseInsensitive { get; init; }
}
