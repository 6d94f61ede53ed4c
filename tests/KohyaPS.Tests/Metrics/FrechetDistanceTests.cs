using KohyaPS.Engine;
using KohyaPS.Engine.Metrics;
using TorchSharp;

namespace KohyaPS.Tests.Metrics;

public sealed class FrechetDistanceTests
{
    private static double[] Diagonal(params double[] values)
    {
        var m = new double[values.Length * values.Length];
        for (int i = 0; i < values.Length; i++)
            m[i * values.Length + i] = values[i];
        return m;
    }

    [Fact]
    public void SetWithItselfIsZero()
    {
        // Correlated features: x = z·A with a fixed random A, so the covariance is full and non-diagonal.
        using var g = new torch.Generator(11);
        using var z = torch.randn(new long[] { 300, 16 }, generator: g, dtype: torch.float32);
        using var a = torch.randn(new long[] { 16, 16 }, generator: g, dtype: torch.float32);
        using var x = z.matmul(a) + 3.0f;
        var fit = GaussianFit.FromFeatures(x, "features");
        double d = FrechetDistance.Compute(fit, fit);
        Assert.InRange(d, 0.0, 1e-6);
    }

    [Fact]
    public void DiagonalCovariancesMatchTheClosedForm()
    {
        // With commuting (diagonal) covariances the trace term is Σ (√a_i − √b_i)².
        double[] a = { 1.0, 4.0, 0.25, 9.0 }, b = { 2.0, 1.0, 0.25, 16.0 };
        var first = new GaussianFit(new[] { 0.0, 1.0, 2.0, 3.0 }, Diagonal(a));
        var second = new GaussianFit(new[] { 1.0, 1.0, 0.0, 3.5 }, Diagonal(b));
        double expected = 1 + 0 + 4 + 0.25;
        for (int i = 0; i < a.Length; i++)
            expected += Math.Pow(Math.Sqrt(a[i]) - Math.Sqrt(b[i]), 2);
        Assert.Equal(expected, FrechetDistance.Compute(first, second), 12);
    }

    [Fact]
    public void NonCommutingTwoByTwoMatchesTheHandWorkedValue()
    {
        // Σ1 = [[2,1],[1,2]], Σ2 = [[1,0],[0,3]] do not commute (Σ1Σ2 = [[2,3],[1,6]], Σ2Σ1 = [[2,1],[3,6]]).
        // M = Σ1^½ Σ2 Σ1^½ is similar to Σ1Σ2: Tr M = 8, det M = det Σ1 · det Σ2 = 3 · 3 = 9. For a 2×2 PSD M,
        // Tr √M = √(Tr M + 2√det M) = √(8 + 6) = √14. With μ1 = (1, 0), μ2 = (0, 2): ‖μ1 − μ2‖² = 5, so
        // d² = 5 + Tr Σ1 + Tr Σ2 − 2√14 = 5 + 4 + 4 − 2√14 = 13 − 2√14.
        var first = new GaussianFit(new[] { 1.0, 0.0 }, new[] { 2.0, 1.0, 1.0, 2.0 });
        var second = new GaussianFit(new[] { 0.0, 2.0 }, new[] { 1.0, 0.0, 0.0, 3.0 });
        double expected = 13 - 2 * Math.Sqrt(14);
        Assert.Equal(expected, FrechetDistance.Compute(first, second), 12);
        Assert.Equal(expected, FrechetDistance.Compute(second, first), 12);
    }

    [Fact]
    public void SingularCovarianceIsHandledThroughClamping()
    {
        // A rank-1 covariance (fewer samples than dimensions) has zero eigenvalues that round-off makes slightly
        // negative; the distance of such a fit with itself is still 0 and with a shifted copy is the mean term.
        using var x = torch.tensor(new float[] { 1, 2, 3, 2, 4, 6 }, new long[] { 2, 3 });
        using var shifted = x + 1.0f;
        var fit = GaussianFit.FromFeatures(x, "a");
        Assert.InRange(FrechetDistance.Compute(fit, fit), 0.0, 1e-6);
        Assert.Equal(3.0, FrechetDistance.Compute(fit, GaussianFit.FromFeatures(shifted, "b")), 6);
    }

    [Fact]
    public void FitUsesTheUnbiasedCovariance()
    {
        using var x = torch.tensor(new double[] { 0, 0, 2, 4 }, new long[] { 2, 2 });
        var fit = GaussianFit.FromFeatures(x, "x");
        Assert.Equal(new[] { 1.0, 2.0 }, fit.Mean);
        Assert.Equal(new[] { 2.0, 4.0, 4.0, 8.0 }, fit.Covariance); // divided by N − 1 = 1
        Assert.Equal(2, fit.Count);
    }

    [Fact]
    public void TooFewSamplesSaysHowManyAreNeeded()
    {
        using var one = torch.ones(1, 32);
        var ex = Assert.Throws<KohyaException>(() => GaussianFit.FromFeatures(one, "sample"));
        Assert.Equal(MetricsErrors.TooFewSamples, ex.ErrorId);
        Assert.Contains("at least 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("more than 32", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.RecommendedAction);
    }

    [Fact]
    public void DifferentDimensionsAreRefused()
    {
        var a = new GaussianFit(new double[2], Diagonal(1, 1));
        var b = new GaussianFit(new double[3], Diagonal(1, 1, 1));
        Assert.Equal(MetricsErrors.FeatureDimensionMismatch, Assert.Throws<KohyaException>(() => FrechetDistance.Compute(a, b)).ErrorId);
    }

    [Fact]
    public void MatrixThatIsNotACovarianceIsRefused()
    {
        var bad = new GaussianFit(new double[2], new[] { 1.0, 0.0, 0.0, -1.0 });
        var good = new GaussianFit(new double[2], Diagonal(1, 1));
        var ex = Assert.Throws<KohyaException>(() => FrechetDistance.Compute(bad, good));
        Assert.Equal(MetricsErrors.NotPositiveSemidefinite, ex.ErrorId);
    }

    [Fact]
    public void NonFiniteFeaturesAreRefused()
    {
        using var x = torch.tensor(new float[] { 1, float.NaN, 3, 4 }, new long[] { 2, 2 });
        Assert.Equal(MetricsErrors.NonFiniteFeatures, Assert.Throws<KohyaException>(() => GaussianFit.FromFeatures(x, "samples")).ErrorId);
    }
}
