namespace KohyaPS.Contracts;

/// <summary>
/// One generated image: what produced it (checkpoint, prompt, seed, sampler settings) and where it is.
/// Written by Invoke-KohyaSample and by sampling during training; read by Measure-KohyaOutput, which binds
/// <see cref="Path"/> and <see cref="Prompt"/> by property name, so any object with those two works too.
/// </summary>
public sealed class KohyaSample
{
    /// <summary>The PNG file.</summary>
    public string Path { get; init; } = "";

    public string Prompt { get; init; } = "";

    public string NegativePrompt { get; init; } = "";

    public long Seed { get; init; }

    public string Sampler { get; init; } = "";

    public int Steps { get; init; }

    public double GuidanceScale { get; init; }

    public int Width { get; init; }

    public int Height { get; init; }

    /// <summary>The checkpoint folder the weights came from.</summary>
    public string Checkpoint { get; init; } = "";

    /// <summary>The cumulative training step of those weights.</summary>
    public long Step { get; init; }

    /// <summary>Position of this image among the prompt's images (0-based).</summary>
    public int Index { get; init; }
}
