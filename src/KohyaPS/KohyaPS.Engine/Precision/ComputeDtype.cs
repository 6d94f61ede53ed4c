using static TorchSharp.torch;

namespace KohyaPS.Engine.Precision;

/// <summary>
/// The names Resources.Dtype accepts and the tensor dtype each one computes in. All three train on the CPU too: the
/// libtorch 2.10 CPU build computes float16 and bfloat16 convolutions, group norms and their backward (measured).
/// </summary>
public static class ComputeDtype
{
    public const string Float32 = "float32";
    public const string BFloat16 = "bfloat16";
    public const string Float16 = "float16";

    public static readonly string[] Names = { Float32, BFloat16, Float16 };

    /// <summary>The dtype for a Resources.Dtype name (case-insensitive); <c>InvalidDtype</c> for anything else.</summary>
    public static ScalarType Parse(string? name) => name?.ToLowerInvariant() switch
    {
        Float32 => ScalarType.Float32,
        BFloat16 => ScalarType.BFloat16,
        Float16 => ScalarType.Float16,
        _ => throw new KohyaException("InvalidDtype", KohyaErrorKind.InvalidArgument,
            $"Resources.Dtype must be one of: {string.Join(", ", Names)} (got '{name}').", target: "Resources.Dtype"),
    };
}
