namespace KohyaPS.Engine.Optim;

/// <summary>
/// Saved optimizer state does not fit the optimizer it is imported into. ErrorId
/// <c>OptimizerStateMismatch</c>; the key lists are complete, the message names the first few of each.
/// </summary>
public sealed class OptimizerStateMismatchException : KohyaException
{
    internal const int KeysShownPerList = 10;

    public OptimizerStateMismatchException(
        string kind,
        IReadOnlyList<string> missing,
        IReadOnlyList<string> unexpected,
        IReadOnlyList<string> mismatched)
        : base("OptimizerStateMismatch", KohyaErrorKind.InvalidData, BuildMessage(kind, missing, unexpected, mismatched),
               target: missing.Concat(unexpected).Concat(mismatched.Select(KeyOf)).ToArray())
    {
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
        RecommendedAction = "Resume with the same optimizer type and the same trainable parameters the checkpoint was saved with, or start a new run.";
    }

    /// <summary>Keys the optimizer needs that the state lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys in the state the optimizer does not know.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys present on both sides whose shape, dtype or value does not fit, each as "key: reason".</summary>
    public IReadOnlyList<string> Mismatched { get; }

    private static string KeyOf(string entry)
    {
        int i = entry.IndexOf(": ", StringComparison.Ordinal);
        return i < 0 ? entry : entry[..i];
    }

    private static string BuildMessage(string kind, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
    {
        var parts = new List<string>();
        if (missing.Count > 0)
            parts.Add("missing " + List(missing));
        if (unexpected.Count > 0)
            parts.Add("unexpected " + List(unexpected));
        if (mismatched.Count > 0)
            parts.Add("mismatched " + List(mismatched));
        return $"The saved optimizer state does not fit this {kind} optimizer: {string.Join("; ", parts)}.";
    }

    private static string List(IReadOnlyList<string> keys)
    {
        string shown = string.Join(", ", keys.Take(KeysShownPerList));
        return keys.Count > KeysShownPerList ? $"{shown} (and {keys.Count - KeysShownPerList} more)" : shown;
    }
}
