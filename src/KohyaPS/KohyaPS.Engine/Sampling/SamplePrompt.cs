namespace KohyaPS.Engine.Sampling;

/// <summary>
/// One prompt line as written: the prompt and the options the line sets (null where it sets none).
/// <see cref="Source"/> names the file and line (or the inline entry) for messages.
/// </summary>
public sealed record SamplePrompt(string Prompt, string Source)
{
    public string? NegativePrompt { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public long? Seed { get; init; }
    public int? Steps { get; init; }
    public double? GuidanceScale { get; init; }

    /// <summary>Options the line gave that this version does not act on (kohya has more), as "--name value".</summary>
    public IReadOnlyList<string> IgnoredOptions { get; init; } = Array.Empty<string>();
}
