namespace KohyaPS.Contracts;

/// <summary>How serious a finding is (about a dataset, a foreign checkpoint or a LoRA file): Information is worth knowing, a Warning trains but probably not as meant, an Error makes the thing unusable as it is.</summary>
public enum KohyaFindingSeverity
{
    /// <summary>Worth knowing; nothing is wrong (e.g. ranks that differ per block by design).</summary>
    Information,

    /// <summary>Usable, but something is missing or inconsistent (e.g. no optimizer state, metadata that disagrees with the tensors).</summary>
    Warning,

    /// <summary>Not usable as it is (e.g. a lora_down without its lora_up, a hash that does not match, no model file).</summary>
    Error,
}
