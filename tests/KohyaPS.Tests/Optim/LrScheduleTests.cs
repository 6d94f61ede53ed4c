using KohyaPS.Engine;
using KohyaPS.Engine.Optim;

namespace KohyaPS.Tests.Optim;

/// <summary>
/// Each schedule against its closed form. <c>step</c> is the number of optimizer steps already taken, so
/// step 0 is the first update and step T-1 the last one of a T-step run.
/// </summary>
public sealed class LrScheduleTests
{
    private const double Lr = 1e-3;

    private static void AssertLr(double expected, LrScheduleSettings s, long step, long total)
    {
        double actual = LrSchedule.Compute(s, step, total);
        Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(Math.Abs(expected), 1e-12),
            $"{s.Name} at step {step}/{total}: expected {expected:R}, got {actual:R}");
    }

    private static double Cos(double x) => Math.Cos(x);

    [Fact]
    public void Constant()
    {
        var s = new LrScheduleSettings { Name = "constant", LearningRate = Lr };
        foreach (long step in new long[] { 0, 1, 50, 99, 100, 500 })
            Assert.Equal(Lr, LrSchedule.Compute(s, step, 100));
    }

    [Fact]
    public void ConstantWithWarmupRampsFromZero()
    {
        var s = new LrScheduleSettings { Name = "Constant_With_Warmup", LearningRate = Lr, WarmupSteps = 4 };
        AssertLr(0, s, 0, 100);                                  // first update of the run: lr 0 (as transformers)
        AssertLr(0.25 * Lr, s, 1, 100);
        AssertLr(0.75 * Lr, s, 3, 100);                          // last warm-up step
        AssertLr(Lr, s, 4, 100);                                 // warm-up ends: full rate
        AssertLr(Lr, s, 99, 100);
    }

    [Fact]
    public void Linear()
    {
        var s = new LrScheduleSettings { Name = "linear", LearningRate = Lr, WarmupSteps = 10 };
        AssertLr(0, s, 0, 110);
        AssertLr(0.5 * Lr, s, 5, 110);
        AssertLr(0.9 * Lr, s, 9, 110);
        AssertLr(Lr, s, 10, 110);                                // (110 - 10) / 100
        AssertLr(0.5 * Lr, s, 60, 110);                          // middle of the decay
        AssertLr(0.01 * Lr, s, 109, 110);                        // last step: 1 / 100
        AssertLr(0, s, 110, 110);
        AssertLr(0, s, 200, 110);                                // clamped at 0 past the end
    }

    [Fact]
    public void LinearWithoutWarmupStartsAtFullRate()
    {
        var s = new LrScheduleSettings { Name = "linear", LearningRate = Lr };
        AssertLr(Lr, s, 0, 4);
        AssertLr(0.75 * Lr, s, 1, 4);
        AssertLr(0.25 * Lr, s, 3, 4);
    }

    [Fact]
    public void Cosine()
    {
        var s = new LrScheduleSettings { Name = "cosine", LearningRate = Lr, WarmupSteps = 10 };
        AssertLr(0, s, 0, 110);
        AssertLr(0.5 * Lr, s, 5, 110);
        AssertLr(Lr, s, 10, 110);
        AssertLr((0.5 + Math.Sqrt(2) / 4) * Lr, s, 35, 110);     // progress 1/4: 0.5 (1 + cos(π/4))
        AssertLr(0.5 * Lr, s, 60, 110);                          // progress 1/2
        AssertLr(0.5 * (1 + Cos(Math.PI * 0.99)) * Lr, s, 109, 110);
        AssertLr(0, s, 110, 110);
        AssertLr(0.5 * Lr, s, 160, 110);                         // transformers does not clamp past the end
    }

    [Fact]
    public void CosineWithRestarts()
    {
        var s = new LrScheduleSettings { Name = "cosine_with_restarts", LearningRate = Lr, NumCycles = 2 };
        AssertLr(Lr, s, 0, 100);
        AssertLr(0.5 * Lr, s, 25, 100);
        AssertLr(0.5 * (1 + Cos(Math.PI * 0.98)) * Lr, s, 49, 100); // end of cycle 1
        AssertLr(Lr, s, 50, 100);                                // hard restart
        AssertLr(0.5 * Lr, s, 75, 100);
        AssertLr(0.5 * (1 + Cos(Math.PI * 0.98)) * Lr, s, 99, 100);
        AssertLr(0, s, 100, 100);
        AssertLr(0, s, 130, 100);

        var w = new LrScheduleSettings { Name = "cosine_with_restarts", LearningRate = Lr, WarmupSteps = 10, NumCycles = 4 };
        AssertLr(0.5 * Lr, w, 5, 90);
        AssertLr(Lr, w, 10, 90);
        AssertLr(0.5 * Lr, w, 20, 90);                           // 10/80 · 4 = 0.5 of cycle 1
        AssertLr(Lr, w, 30, 90);                                 // cycle 2 starts
        AssertLr(0.5 * (1 + Cos(Math.PI * 0.95)) * Lr, w, 89, 90);
        AssertLr(0, w, 90, 90);
    }

    [Fact]
    public void CosineWithRestartsDefaultsToOneCycle()
    {
        var s = new LrScheduleSettings { Name = "cosine_with_restarts", LearningRate = Lr };
        AssertLr(0.5 * Lr, s, 50, 100);
        AssertLr(0.5 * (1 + Cos(Math.PI * 0.99)) * Lr, s, 99, 100);
    }

    [Fact]
    public void Polynomial()
    {
        const double end = 1e-7;
        var s = new LrScheduleSettings { Name = "polynomial", LearningRate = Lr, Power = 2 };
        AssertLr(Lr, s, 0, 100);
        AssertLr((Lr - end) * 0.25 + end, s, 50, 100);           // (1 - 1/2)^2
        AssertLr((Lr - end) * 0.0001 + end, s, 99, 100);         // (1/100)^2
        AssertLr(end, s, 100, 100);
        AssertLr(end, s, 150, 100);                              // stays at EndLr

        var w = new LrScheduleSettings { Name = "polynomial", LearningRate = Lr, WarmupSteps = 20, EndLr = 1e-5 };
        AssertLr(0.5 * Lr, w, 10, 100);
        AssertLr(Lr, w, 20, 100);
        AssertLr((Lr - 1e-5) * 0.5 + 1e-5, w, 60, 100);          // power 1 by default
        AssertLr(1e-5, w, 100, 100);
    }

    [Fact]
    public void RewarmScalesTheFirstStepsAfterAResume()
    {
        Assert.Equal(0.25 * Lr, LrSchedule.WithRewarm(Lr, 0, 4));  // first update after the resume: 1/4, never 0
        Assert.Equal(0.5 * Lr, LrSchedule.WithRewarm(Lr, 1, 4));
        Assert.Equal(Lr, LrSchedule.WithRewarm(Lr, 3, 4));         // 4th update: full rate
        Assert.Equal(Lr, LrSchedule.WithRewarm(Lr, 100, 4));
        Assert.Equal(Lr, LrSchedule.WithRewarm(Lr, 0, 0));         // no re-warm
        Assert.Equal(Lr, LrSchedule.WithRewarm(Lr, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.WithRewarm(Lr, -1, 4));
    }

    [Fact]
    public void NamesListsEverySchedule()
    {
        Assert.Equal(["constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial"], LrSchedule.Names);
        foreach (var name in LrSchedule.Names)
            new LrScheduleSettings { Name = name.ToUpperInvariant() }.Validate(10);
    }

    public static TheoryData<LrScheduleSettings, long, string> BadSchedules() => new()
    {
        { new LrScheduleSettings { Name = "onecycle" }, 100, "Name" },
        { new LrScheduleSettings { Name = "linear", LearningRate = 0 }, 100, "LearningRate" },
        { new LrScheduleSettings { Name = "linear", LearningRate = double.PositiveInfinity }, 100, "LearningRate" },
        { new LrScheduleSettings { Name = "linear", WarmupSteps = -1 }, 100, "WarmupSteps" },
        { new LrScheduleSettings { Name = "constant", WarmupSteps = 5 }, 100, "WarmupSteps" },
        { new LrScheduleSettings { Name = "linear", WarmupSteps = 101 }, 100, "WarmupSteps" },
        { new LrScheduleSettings { Name = "cosine", NumCycles = 2 }, 100, "NumCycles" },
        { new LrScheduleSettings { Name = "cosine_with_restarts", NumCycles = 0 }, 100, "NumCycles" },
        { new LrScheduleSettings { Name = "linear", Power = 2 }, 100, "Power" },
        { new LrScheduleSettings { Name = "polynomial", Power = -1 }, 100, "Power" },
        { new LrScheduleSettings { Name = "cosine", EndLr = 1e-6 }, 100, "EndLr" },
        { new LrScheduleSettings { Name = "polynomial", LearningRate = 1e-4, EndLr = 1e-4 }, 100, "EndLr" },
        { new LrScheduleSettings { Name = "linear" }, 0, "TotalSteps" },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public void ValidationNamesTheBadOption(LrScheduleSettings settings, long totalSteps, string option)
    {
        var ex = Assert.Throws<KohyaException>(() => LrSchedule.Compute(settings, 0, totalSteps));
        Assert.Equal("InvalidLrSchedule", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal(option, ex.Target);
        Assert.Contains($"'{option}'", ex.Message);
    }

    [Fact]
    public void NegativeStepIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.Compute(new LrScheduleSettings(), -1, 10));
}
