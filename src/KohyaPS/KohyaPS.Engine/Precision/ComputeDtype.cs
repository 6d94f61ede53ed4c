using static TorchSharp.torch;

namespace KohyaPS.Engine.Precision;

/// <summary>The names Resources.Dtype accepts and the tensor dtype each one computes in.</summary>
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

    /// <summary>
    /// Refuses a dtype the device cannot train in (<c>DtypeUnsupportedOnDevice</c>). The CPU libtorch this module
    /// ships computes bfloat16 convolutions and matrix products, but not the float16 convolution backward a UNet
    /// needs, so float16 is for CUDA only.
    /// </summary>
    public static void EnsureSupported(ScalarType dtype, Device device, string name)
    {
        if (dtype == ScalarType.Float16 && device.type == TorchSharp.DeviceType.CPU)
            throw new KohyaException("DtypeUnsupportedOnDevice", KohyaErrorKind.InvalidArgument,
                $"Resources.Dtype '{name}' needs a CUDA device: libtorch on the CPU does not train float16 convolutions.", target: "Resources.Dtype")
            {
                RecommendedAction = "Use Resources.Dtype bfloat16 (or float32) on the CPU; keep float16 for Resources.Device cuda.",
            };
    }
}
