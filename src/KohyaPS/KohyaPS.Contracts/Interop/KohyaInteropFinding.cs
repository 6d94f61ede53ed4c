namespace KohyaPS.Contracts;

/// <summary>
/// One problem (or note) found while reading a file or folder written by another trainer. <see cref="ErrorId"/> is
/// stable and scripts can match on it; the message names the file and the tensor or key concerned.
/// </summary>
public sealed class KohyaInteropFinding
{
    public string ErrorId { get; init; } = "";
    public KohyaFindingSeverity Severity { get; init; }
    public string Message { get; init; } = "";

    /// <summary>The file, tensor or metadata key the finding is about, when there is one.</summary>
    public string? Target { get; init; }

    public override string ToString() => $"{Severity} {ErrorId}: {Message}";
}
