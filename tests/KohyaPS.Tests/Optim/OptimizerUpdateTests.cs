using KohyaPS.Engine.Optim;
using TorchSharp;
using static KohyaPS.Tests.Optim.OptimTestKit;

namespace KohyaPS.Tests.Optim;

/// <summary>
/// Each optimizer against its update rule written out in doubles on the two-parameter problem
/// (w = [1, -2], b = [0.5]) for three steps with the gradients of <see cref="OptimTestKit.Grads"/>.
/// </summary>
public sealed class OptimizerUpdateTests
{
    private const double Tolerance = 2e-6;

    public OptimizerUpdateTests() => EnsureTorch();

    [Fact]
    public void AdamWFirstStepMovesEachWeightByAboutLr()
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        using var opt = new AdamW(ps, weightDecay: 0);
        SetGrads(ps, Grads[0]);
        opt.Step(0.01);
        // Step 1: m̂ = g, v̂ = g², so the update is lr · g / (|g| + eps) = ±lr (eps/|g| ≈ 1e-8 is below the tolerance).
        AssertClose([1.0 - 0.01, -2.0 + 0.01, 0.5 - 0.01], Flatten(ps), Tolerance);
        Assert.Equal(1, opt.StepCount);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public void AdamWMatchesHandComputedUpdate(double wd)
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        using var opt = new AdamW(ps, betas: (0.9, 0.999), eps: 1e-8, weightDecay: wd);
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        double[] p = [.. StartValues], m = new double[3], v = new double[3];
        for (int t = 1; t <= 3; t++)
        {
            double[] g = Grads[t - 1];
            for (int i = 0; i < 3; i++)
            {
                p[i] *= 1 - lr * wd;                             // decoupled decay first
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps; // eps outside the sqrt
                p[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
            }
            SetGrads(ps, g);
            opt.Step(lr);
            AssertClose(p, Flatten(ps), Tolerance);
        }
    }

    [Fact]
    public void AdamAddsL2DecayToTheGradient()
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        using var opt = new Adam(ps, betas: (0.8, 0.99), eps: 1e-6, weightDecay: 0.5);
        double lr = 0.05, b1 = 0.8, b2 = 0.99, eps = 1e-6, wd = 0.5;
        double[] p = [.. StartValues], m = new double[3], v = new double[3];
        for (int t = 1; t <= 3; t++)
        {
            for (int i = 0; i < 3; i++)
            {
                double g = Grads[t - 1][i] + wd * p[i];          // L2: decay enters the moments
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                p[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
            }
            SetGrads(ps, Grads[t - 1]);
            opt.Step(lr);
            AssertClose(p, Flatten(ps), Tolerance);
        }
    }

    [Fact]
    public void AdamWSkipsParametersWithoutGradientAndKeepsTheirOwnStepCount()
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        using var opt = new AdamW(ps, weightDecay: 0.1);
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        double pb = 0.5, mb = 0, vb = 0;
        int tb = 0;
        for (int t = 1; t <= 3; t++)
        {
            bool bHasGrad = t != 2;                              // b gets no gradient on step 2
            SetGrads(ps, Grads[t - 1], bHasGrad);
            opt.Step(lr);
            if (bHasGrad)
            {
                tb++;                                            // b's own step: bias correction uses 1, then 2
                double g = Grads[t - 1][2];
                pb *= 1 - lr * wd;
                mb = b1 * mb + (1 - b1) * g;
                vb = b2 * vb + (1 - b2) * g * g;
                pb -= lr / (1 - Math.Pow(b1, tb)) * mb / (Math.Sqrt(vb) / Math.Sqrt(1 - Math.Pow(b2, tb)) + eps);
            }
            AssertClose([pb], [Flatten(ps)[2]], Tolerance);
        }
        using var state = opt.ExportState();
        Assert.Equal("3", state.Values["step"]);
        Assert.Equal("3", state.Values["w.step"]);
        Assert.Equal("2", state.Values["b.step"]);
    }

    [Fact]
    public void SgdPlainWithWeightDecay()
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        using var opt = new Sgd(ps, weightDecay: 0.01);
        Assert.Empty(opt.SlotNames);
        double lr = 0.1, wd = 0.01;
        double[] p = [.. StartValues];
        for (int t = 1; t <= 3; t++)
        {
            for (int i = 0; i < 3; i++)
                p[i] -= lr * (Grads[t - 1][i] + wd * p[i]);
            SetGrads(ps, Grads[t - 1]);
            opt.Step(lr);
            AssertClose(p, Flatten(ps), Tolerance);
        }
        // Step 1 written out for w0: 1 - 0.1 · (1 + 0.01 · 1) = 0.899.
        Assert.Equal(0.899, 1.0 - 0.1 * (1.0 + 0.01 * 1.0), 12);
    }

    [Theory]
    [InlineData(0.9, 0.0, false)]
    [InlineData(0.9, 0.3, false)]
    [InlineData(0.9, 0.0, true)]
    public void SgdMomentumDampeningNesterov(double momentum, double dampening, bool nesterov)
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        using var opt = new Sgd(ps, momentum, dampening, nesterov, weightDecay: 0.05);
        double lr = 0.1, wd = 0.05;
        double[] p = [.. StartValues], buf = new double[3];
        for (int t = 1; t <= 3; t++)
        {
            for (int i = 0; i < 3; i++)
            {
                double g = Grads[t - 1][i] + wd * p[i];
                buf[i] = t == 1 ? g : momentum * buf[i] + (1 - dampening) * g; // first buffer is the gradient itself
                double d = nesterov ? g + momentum * buf[i] : buf[i];
                p[i] -= lr * d;
            }
            SetGrads(ps, Grads[t - 1]);
            opt.Step(lr);
            AssertClose(p, Flatten(ps), Tolerance);
        }
    }

    [Fact]
    public void LionMatchesHandComputedUpdate()
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        using var opt = new Lion(ps, weightDecay: 0.1);
        double lr = 0.01, b1 = 0.9, b2 = 0.99, wd = 0.1;
        double[] p = [.. StartValues], m = new double[3];
        for (int t = 1; t <= 3; t++)
        {
            for (int i = 0; i < 3; i++)
            {
                double g = Grads[t - 1][i];
                p[i] *= 1 - lr * wd;
                p[i] -= lr * Math.Sign(b1 * m[i] + (1 - b1) * g);
                m[i] = b2 * m[i] + (1 - b2) * g;
            }
            SetGrads(ps, Grads[t - 1]);
            opt.Step(lr);
            AssertClose(p, Flatten(ps), Tolerance);
        }
        // Step 2, w0: g = -0.05 but 0.9 · 0.01 + 0.1 · (-0.05) = 0.004 > 0, so momentum keeps the sign at +1.
        double w0 = (1.0 * 0.999 - 0.01) * 0.999 - 0.01;
        double w0Step3 = w0 * 0.999 + 0.01;                      // 0.9 · 0.0094 + 0.1 · (-0.2) < 0: sign -1
        AssertClose([w0Step3], [Flatten(ps)[0]], Tolerance);
    }

    [Fact]
    public void ZeroGradSetsGradientsToNull()
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        using var opt = new Sgd(ps);
        SetGrads(ps, Grads[0]);
        opt.ZeroGrad();
        Assert.All(ps, p => Assert.Null(p.Param.grad));
        opt.Step(0.1);                                           // nothing to do, but the step is counted
        AssertClose(StartValues, Flatten(ps), 0);
        Assert.Equal(1, opt.StepCount);
    }

    [Fact]
    public void StepRejectsABadLearningRate()
    {
        using var scope = torch.NewDisposeScope();
        using var opt = new AdamW(TwoParameters());
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Step(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Step(-1e-3));
    }

    [Fact]
    public void StateOutlivesTheCallersDisposeScope()
    {
        var ps = TwoParameters();
        KohyaOptimizer opt;
        using (torch.NewDisposeScope())
            opt = new AdamW(ps);
        using (opt)
        using (torch.NewDisposeScope())
        {
            SetGrads(ps, Grads[0]);
            opt.Step(0.01);                                      // would throw on disposed state tensors
            using var state = opt.ExportState();
            Assert.Equal(4, state.Tensors.Count);
        }
    }
}
