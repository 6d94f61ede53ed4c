namespace KohyaPS.Engine.Sampling;

/// <summary>The samplers this version draws with.</summary>
public enum SamplerKind
{
    Ddpm,
    Ddim,
    Euler,
}

/// <summary>
/// Sampler names as users give them (kohya's <c>sample_sampler</c> spelling, any case) and what they mean here.
/// kohya knows many more (pndm, lms, euler_a, heun, dpm…); those are refused with <c>SamplerNotSupported</c>
/// rather than silently replaced by another.
/// </summary>
public static class SamplerNames
{
    /// <summary>Every accepted name, for tab completion and messages.</summary>
    public static IReadOnlyList<string> Supported { get; } = new[] { "ddpm", "ddim", "euler", "k_euler" };

    public static SamplerKind Parse(string? name, string target = "Sampler") => (name ?? "").Trim().ToLowerInvariant() switch
    {
        "ddpm" => SamplerKind.Ddpm,
        "ddim" => SamplerKind.Ddim,
        "euler" or "k_euler" => SamplerKind.Euler,
        _ => throw new KohyaException("SamplerNotSupported", KohyaErrorKind.InvalidArgument,
            $"{target} '{name}' is not a sampler this version has; supported: {string.Join(", ", Supported)}.", target: target)
        {
            RecommendedAction = $"Use one of: {string.Join(", ", Supported)} (euler and k_euler are the same sampler).",
        },
    };

    /// <summary>The name written into sample records.</summary>
    public static string NameOf(SamplerKind kind) => kind.ToString().ToLowerInvariant();
}
