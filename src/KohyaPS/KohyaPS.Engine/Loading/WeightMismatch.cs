namespace KohyaPS.Engine.Loading;

/// <summary>
/// How a weight file differs from the model it should fill: model tensors the file lacks, file tensors the model
/// has no place for, and tensors present in both with different shapes (each "name: file [..] vs model [..]").
/// </summary>
public sealed record WeightMismatch(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> WrongShape)
{
    public bool IsEmpty => Missing.Count + Unexpected.Count + WrongShape.Count == 0;

    /// <summary>
    /// The error for a non-empty mismatch: "ModelWeightsMismatch" with every list in the message (first entries of
    /// long lists, with counts) and, complete, in <see cref="Exception.Data"/> under "Missing", "Unexpected" and "WrongShape".
    /// </summary>
    public KohyaException ToException(string source, string component)
    {
        var ex = new KohyaException("ModelWeightsMismatch", KohyaErrorKind.InvalidData,
            $"'{source}' does not fit the {component}: {Missing.Count} missing [{Preview(Missing)}], {Unexpected.Count} unexpected " +
            $"[{Preview(Unexpected)}], {WrongShape.Count} with the wrong shape [{Preview(WrongShape)}].", target: source)
        {
            RecommendedAction = "Check that the file is a Stable Diffusion 1.x model of the configuration you asked for " +
                                "(SD2 and SDXL files have other layouts); the full lists are in the exception's Data.",
        };
        ex.Data["Missing"] = Missing.ToArray();
        ex.Data["Unexpected"] = Unexpected.ToArray();
        ex.Data["WrongShape"] = WrongShape.ToArray();
        return ex;
    }

    private static string Preview(IReadOnlyList<string> keys) =>
        keys.Count <= 8 ? string.Join(", ", keys) : string.Join(", ", keys.Take(8)) + ", …";
}
