using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// Factories for the library layers whose TorchSharp defaults need correcting. TorchSharp 0.107's
/// <c>nn.GroupNorm</c> leaves weight and bias uninitialised (PyTorch sets 1 and 0), which gives NaN losses
/// and run-to-run differences; the norms made here are always set to weight 1, bias 0.
/// </summary>
internal static class ModelLayers
{
    public static GroupNorm GroupNorm(long groups, long channels, double eps, Device? device, ScalarType? dtype)
    {
        var norm = nn.GroupNorm(groups, channels, eps, affine: true, device: device, dtype: dtype);
        ResetAffine(norm.weight, norm.bias);
        return norm;
    }

    public static LayerNorm LayerNorm(long dim, double eps, Device? device, ScalarType? dtype)
    {
        var norm = nn.LayerNorm(dim, eps, elementwise_affine: true, bias: true, device: device, dtype: dtype);
        ResetAffine(norm.weight, norm.bias);
        return norm;
    }

    private static void ResetAffine(Tensor? weight, Tensor? bias)
    {
        using var _ = torch.no_grad();
        weight?.fill_(1.0);
        bias?.fill_(0.0);
    }
}
