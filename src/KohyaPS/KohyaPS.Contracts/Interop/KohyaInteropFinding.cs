namespace KohyaPS.Contracts;

/// <summary>How serious a finding about a foreign checkpoint or LoRA file is.</summary>
public enum KohyaFindingSeverity
{
    /// <summary>Worth knowing; nothing is wrong (e.g. ranks that differ per block by design).</summary>
    Information,

    /// <summary>Usable, but something is missing or inconsistent (e.g. no optimizer state, metadata that disagrees with the tensors).</summary>
    Warning,

    /// <summary>Not usable as it is (e.g. a lora_down without its lora_up, a hash that does not match, no model file).</summary>
    Error,
}

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
