using KohyaPS.Engine.Optim;
using TorchSharp;
using static KohyaPS.Tests.Optim.OptimTestKit;

namespace KohyaPS.Tests.Optim;

public sealed class GradientClippingTests
{
    public GradientClippingTests() => EnsureTorch();

    /// <summary>Gradients [3, 4] and [12]: per-tensor norms 5 and 12, total sqrt(25 + 144) = 13.</summary>
    private static List<(string Name, TorchSharp.Modules.Parameter Param)> WithGrads()
    {
        var ps = TwoParameters();
        ps[0].Param.grad = torch.tensor(new[] { 3f, 4f });
        ps[1].Param.grad = torch.tensor(new[] { 12f });
        return ps;
    }

    private static double[] Grads(IEnumerable<(string Name, TorchSharp.Modules.Parameter Param)> ps) =>
        ps.SelectMany(p => p.Param.grad!.data<float>().ToArray()).Select(f => (double)f).ToArray();

    [Fact]
    public void ScalesAllGradientsByMaxNormOverTotal()
    {
        using var scope = torch.NewDisposeScope();
        var ps = WithGrads();
        double total = GradientClipping.ClipByTotalNorm(ps.Select(p => p.Param), 6.5);
        Assert.Equal(13.0, total);
        double coef = 6.5 / (13.0 + 1e-6);
        AssertClose([3 * coef, 4 * coef, 12 * coef], Grads(ps), 1e-6);
        AssertClose([1.5, 2.0, 6.0], Grads(ps), 1e-6);
    }

    [Fact]
    public void LeavesGradientsBitwiseUnchangedBelowMaxNorm()
    {
        using var scope = torch.NewDisposeScope();
        var ps = WithGrads();
        Assert.Equal(13.0, GradientClipping.ClipByTotalNorm(ps.Select(p => p.Param), 20));
        Assert.Equal([3.0, 4.0, 12.0], Grads(ps));
    }

    [Fact]
    public void NonPositiveMaxNormOnlyMeasures()
    {
        using var scope = torch.NewDisposeScope();
        var ps = WithGrads();
        Assert.Equal(13.0, GradientClipping.ClipByTotalNorm(ps.Select(p => p.Param), 0));
        Assert.Equal(13.0, GradientClipping.ClipByTotalNorm(ps.Select(p => p.Param), -1));
        Assert.Equal([3.0, 4.0, 12.0], Grads(ps));
    }

    [Fact]
    public void SkipsParametersWithoutGradient()
    {
        using var scope = torch.NewDisposeScope();
        var ps = WithGrads();
        ps[1].Param.grad = null!;
        Assert.Equal(5.0, GradientClipping.ClipByTotalNorm(ps.Select(p => p.Param), 1.0));
        AssertClose([0.6, 0.8], Grads(ps.Take(1)), 1e-6);
        ps[0].Param.grad = null!;
        Assert.Equal(0.0, GradientClipping.ClipByTotalNorm(ps.Select(p => p.Param), 1.0));
    }
}
