using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>
/// The Fréchet distance between two Gaussians — FID when they are fitted to Inception features:
/// <c>d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½)</c>.
/// </summary>
/// <remarks>
/// <para>Both square roots are taken through symmetric eigendecompositions in float64 (<c>torch.linalg.eigh</c>):
/// Σ1^½ = V diag(√λ) Vᵀ, then the eigenvalues of the symmetric PSD matrix M = Σ1^½ Σ2 Σ1^½ (symmetrised as
/// (M + Mᵀ)/2 against round-off), whose square roots sum to Tr(M^½). This is the same quantity as pytorch-fid's
/// <c>Tr(sqrtm(Σ1 Σ2))</c> (Σ1Σ2 is similar to M), without a non-symmetric matrix square root and its complex
/// round-off.</para>
/// <para>Tolerances (λmax = the largest |eigenvalue| of the matrix at hand, D its size): an eigenvalue with
/// |λ| ≤ <see cref="RoundOffFactor"/>·D·ε·λmax (ε = 2.2e-16, float64) is round-off of a true zero and is set to 0 —
/// its square root would otherwise be of order √(ε·λmax) and bias a rank-deficient case (fewer samples than
/// dimensions) by far more than the eigenvalue itself; a negative λ down to −<see cref="RelativeTolerance"/>·λmax
/// is clamped to 0 as well; a more negative one means the matrix is not a covariance and raises
/// <see cref="MetricsErrors.NotPositiveSemidefinite"/>. A final distance in
/// [−<see cref="RelativeTolerance"/>·(TrΣ1 + TrΣ2), 0) is reported as 0.</para>
/// </remarks>
public static class FrechetDistance
{
    /// <summary>Negative eigenvalues down to −RelativeTolerance·λmax are round-off, not an error.</summary>
    public const double RelativeTolerance = 1e-10;

    /// <summary>Eigenvalues with |λ| ≤ RoundOffFactor·D·ε·λmax are taken as exact zeros.</summary>
    public const double RoundOffFactor = 16;

    private const double MachineEpsilon = 2.220446049250313e-16; // float64 machine epsilon, 2^-52

    public static double Compute(GaussianFit first, GaussianFit second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Dimension != second.Dimension)
            throw MetricsErrors.DimensionMismatch(first.Dimension, second.Dimension);
        int d = first.Dimension;

        double meanTerm = 0;
        for (int i = 0; i < d; i++)
        {
            double diff = first.Mean[i] - second.Mean[i];
            meanTerm += diff * diff;
        }

        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var s1 = Symmetric(first.Covariance, d);
        var s2 = Symmetric(second.Covariance, d);
        double trace1 = s1.trace().item<double>(), trace2 = s2.trace().item<double>();

        var root1 = SymmetricSquareRoot(s1, "first covariance");
        var m = root1.matmul(s2).matmul(root1);
        var (eigen, _) = ClampedEigenvalues((m + m.t()) / 2, "Σ1^½ Σ2 Σ1^½", vectors: false);
        double traceRoot = eigen.sqrt().sum().item<double>();

        double distance = meanTerm + trace1 + trace2 - 2 * traceRoot;
        double floor = -RelativeTolerance * Math.Max(trace1 + trace2, double.Epsilon);
        if (distance < 0 && distance >= floor)
            distance = 0;
        return distance;
    }

    /// <summary>The covariance as a float64 tensor, symmetrised as (A + Aᵀ)/2.</summary>
    private static Tensor Symmetric(double[] values, int d)
    {
        var t = torch.tensor(values, new long[] { d, d }, ScalarType.Float64);
        return (t + t.t()) / 2;
    }

    /// <summary>A^½ = V diag(√max(λ, 0)) Vᵀ for a symmetric PSD A.</summary>
    internal static Tensor SymmetricSquareRoot(Tensor a, string which)
    {
        var (values, vectors) = ClampedEigenvalues(a, which, vectors: true);
        return (vectors! * values.sqrt().unsqueeze(0)).matmul(vectors!.t());
    }

    private static (Tensor Values, Tensor? Vectors) ClampedEigenvalues(Tensor a, string which, bool vectors)
    {
        Tensor values;
        Tensor? v = null;
        if (vectors)
            (values, v) = torch.linalg.eigh(a);
        else
            values = torch.linalg.eigvalsh(a);
        if (!values.isfinite().all().item<bool>())
            throw MetricsErrors.NonFinite(which);
        double largest = values.abs().max().item<double>();
        double tolerance = RelativeTolerance * largest;
        double smallest = values.min().item<double>();
        if (smallest < -tolerance)
            throw MetricsErrors.NotPsd(which, smallest, tolerance);
        double zero = RoundOffFactor * values.shape[0] * MachineEpsilon * largest;
        return (torch.where(values <= zero, torch.zeros_like(values), values), v);
    }
}
