using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>
/// A Gaussian fitted to a set of feature vectors: the mean and the unbiased covariance (divided by N − 1, as
/// numpy's <c>np.cov</c> that pytorch-fid uses), both in float64 whatever the features' precision.
/// </summary>
public sealed class GaussianFit
{
    /// <param name="mean">The mean vector (length D).</param>
    /// <param name="covariance">The D×D covariance, row-major (length D²).</param>
    /// <param name="count">How many feature vectors it was fitted to (0 when given directly).</param>
    public GaussianFit(double[] mean, double[] covariance, int count = 0)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(covariance);
        if (covariance.Length != (long)mean.Length * mean.Length)
            throw new ArgumentException($"A {mean.Length}-dimensional mean needs a {mean.Length}×{mean.Length} covariance ({(long)mean.Length * mean.Length} values); got {covariance.Length}.", nameof(covariance));
        Mean = mean;
        Covariance = covariance;
        Count = count;
    }

    public double[] Mean { get; }

    /// <summary>Row-major D×D.</summary>
    public double[] Covariance { get; }

    public int Count { get; }

    public int Dimension => Mean.Length;

    /// <summary>
    /// Fits features [N, D] (any float dtype). Throws <see cref="MetricsErrors.TooFewSamples"/> when N is below
    /// <see cref="MetricsErrors.MinimumSamples"/> and <see cref="MetricsErrors.NonFiniteFeatures"/> on NaN/∞;
    /// <paramref name="which"/> names the set in those messages.
    /// </summary>
    public static GaussianFit FromFeatures(Tensor features, string which)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() != 2)
            throw new ArgumentException($"Features must be [N, D]; got [{string.Join(", ", features.shape)}].", nameof(features));
        int n = (int)features.shape[0], d = (int)features.shape[1];
        if (n < MetricsErrors.MinimumSamples)
            throw MetricsErrors.TooFew(which, n, d);
        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var x = features.detach().to(ScalarType.Float64, torch.CPU);
        if (!x.isfinite().all().item<bool>())
            throw MetricsErrors.NonFinite(which);
        var mean = x.mean(new long[] { 0 });
        var centred = x - mean;
        var cov = centred.t().matmul(centred) / (n - 1);
        return new GaussianFit(mean.data<double>().ToArray(), cov.contiguous().data<double>().ToArray(), n);
    }
}
