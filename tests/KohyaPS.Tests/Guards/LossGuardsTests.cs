using KohyaPS.Contracts;
using KohyaPS.Engine.Monitoring.Guards;
using KohyaPS.Engine.Training;

namespace KohyaPS.Tests.Guards;

/// <summary>The loss guards on synthetic loss series: what fires, when, and what it asks for.</summary>
public sealed class LossGuardsTests
{
    private static MonitoringSection Settings(Action<MonitoringSection>? tweak = null)
    {
        var s = new MonitoringSection();
        tweak?.Invoke(s);
        return s;
    }

    /// <summary>A diffusion-like noisy loss around 0.3 (uniform ±0.05, seeded).</summary>
    private static double[] Noisy(int count, int seed, double level = 0.3)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => level + (random.NextDouble() - 0.5) * 0.1).ToArray();
    }

    private static List<(long Step, GuardFinding Finding)> Feed(LossGuards guards, IEnumerable<double> losses, long firstStep = 1, Func<long, bool>? skipped = null)
    {
        var found = new List<(long, GuardFinding)>();
        long step = firstStep;
        foreach (double loss in losses)
        {
            var report = new StepReport(step, 0, loss, 1e-3, double.IsFinite(loss) ? 1.0 : double.NaN, 4, 0.01, Skipped: !double.IsFinite(loss) || (skipped?.Invoke(step) ?? false));
            found.AddRange(guards.Observe(report).Select(f => (step, f)));
            step++;
        }
        return found;
    }

    [Fact]
    public void RobustStatisticsMatchHandWorkedValues()
    {
        double[] w = { 1, 2, 3, 4, 100 };
        Assert.Equal(3, RobustStats.Median(w));
        Assert.Equal(1, RobustStats.MedianAbsoluteDeviation(w, 3)); // |deviations| 2,1,0,1,97 -> median 1
        Assert.Equal((10 - 3) / 1.4826, RobustStats.ZScore(10, w), 12);
        Assert.Equal(2.5, RobustStats.Median(new double[] { 4, 1, 3, 2 }));
        // A mean of n values is judged against sigma / sqrt(n).
        Assert.Equal(2 * (10 - 3) / 1.4826, RobustStats.ZScore(10, w, meanOf: 4), 12);
    }

    [Fact]
    public void NoisyButHealthyLossRaisesNothing()
    {
        var m = new MonitorState();
        var found = Feed(new LossGuards(Settings(), m, resumed: false), Noisy(500, 1));
        Assert.Empty(found);
        Assert.Equal(50, m.RecentLosses.Count); // the window keeps LossSpikeWindow values
    }

    [Theory]
    [InlineData("warn", "Warn")]
    [InlineData("stop", "Stop")]
    [InlineData("rollback", "Rollback")]
    public void ASpikeIsFoundAndCarriesTheConfiguredAction(string action, string expected)
    {
        var m = new MonitorState();
        var guards = new LossGuards(Settings(s => s.LossSpikeAction = action), m, resumed: false);
        var losses = Noisy(60, 2).ToList();
        losses[40] = 5.0; // a blow-up: ~16x the level, the last step fed (a stop or rollback acts on it at once)
        var found = Feed(guards, losses.Take(41));
        var spike = Assert.Single(found);
        Assert.Equal(41, spike.Step);
        Assert.Equal("Spike", spike.Finding.Kind);
        Assert.Equal(expected, spike.Finding.Action);
        Assert.True(spike.Finding.Value > 10, $"z = {spike.Finding.Value}");
        Assert.Contains("spike", spike.Finding.Message);
        Assert.Equal(action == "warn" ? null : 41, m.TroubleSince is null ? null : (int?)m.TroubleSince);
        // A reported spike stays in the window; one acted on does not.
        Assert.Equal(action == "warn", m.RecentLosses.Contains(5.0));
    }

    [Fact]
    public void TheSpikeGuardWaitsForAWindowAndCanBeSwitchedOff()
    {
        var early = Feed(new LossGuards(Settings(), new MonitorState(), false), new[] { 0.3, 0.31, 0.29, 9.0 });
        Assert.Empty(early); // fewer than MinimumWindow values: nothing to judge against
        var losses = Noisy(40, 3).ToList();
        losses[30] = 50;
        Assert.Empty(Feed(new LossGuards(Settings(s => s.LossSpikeThreshold = 0), new MonitorState(), false), losses));
    }

    [Fact]
    public void NonFiniteStepsAreSkippedAndTheKthRollsBack()
    {
        var m = new MonitorState();
        var guards = new LossGuards(Settings(s => s.NonFiniteRollbackAfter = 3), m, resumed: false);
        var losses = Noisy(30, 4).ToList();
        losses[20] = double.NaN;
        losses[22] = double.PositiveInfinity;
        losses[25] = double.NaN;
        var found = Feed(guards, losses);
        Assert.Equal(new long[] { 21, 23, 26 }, found.Select(f => f.Step));
        Assert.All(found, f => Assert.Equal("NonFinite", f.Finding.Kind));
        Assert.Equal(new[] { "Skip", "Skip", "Rollback" }, found.Select(f => f.Finding.Action));
        Assert.Equal(21, m.TroubleSince); // the rollback goes to a checkpoint before the first of them
        Assert.Contains("a rollback follows at 3", found[0].Finding.Message);
    }

    [Fact]
    public void NonFiniteStepsOutsideTheWindowAreForgotten()
    {
        var m = new MonitorState();
        var guards = new LossGuards(Settings(s => { s.NonFiniteRollbackAfter = 2; s.LossSpikeWindow = 10; }), m, resumed: false);
        var losses = Noisy(40, 5).ToList();
        losses[5] = double.NaN;
        losses[30] = double.NaN; // 25 steps later: the first has left the 10-step window
        var found = Feed(guards, losses);
        Assert.Equal(new[] { "Skip", "Skip" }, found.Select(f => f.Finding.Action));
        Assert.Equal(new long[] { 31 }, m.NonFiniteSteps);
    }

    [Fact]
    public void GradientsThatAreNotFiniteCountEvenWithAFiniteLoss()
    {
        var m = new MonitorState();
        var found = Feed(new LossGuards(Settings(), m, false), Noisy(20, 6), skipped: s => s == 12);
        var f = Assert.Single(found);
        Assert.Equal(12, f.Step);
        Assert.Contains("gradient norm", f.Finding.Message);
    }

    [Fact]
    public void ARollbackBeyondMaxRollbacksBecomesAStop()
    {
        var m = new MonitorState { Rollbacks = 2 };
        var guards = new LossGuards(Settings(s => { s.NonFiniteRollbackAfter = 1; s.MaxRollbacks = 2; }), m, false);
        var found = Feed(guards, new[] { 0.3, double.NaN });
        var f = Assert.Single(found);
        Assert.Equal("Stop", f.Finding.Action);
        Assert.Contains("MaxRollbacks", f.Finding.Message);
    }

    [Fact]
    public void AJumpAfterAResumeIsJudgedAgainstTheWindowBeforeTheInterruption()
    {
        var before = new MonitorState();
        Feed(new LossGuards(Settings(), before, false), Noisy(80, 7));
        // The same level after the resume: nothing. Twice the level: a jump, once, after ResumeJumpSteps steps.
        var same = Feed(new LossGuards(Settings(), before.Clone(), resumed: true), Noisy(30, 8), firstStep: 81);
        Assert.Empty(same);
        var jumped = Feed(new LossGuards(Settings(s => s.ResumeJumpAction = "stop"), before.Clone(), resumed: true), Noisy(30, 9, level: 0.45), firstStep: 81);
        var f = Assert.Single(jumped);
        Assert.Equal(90, f.Step);
        Assert.Equal(("ResumeJump", "Stop"), (f.Finding.Kind, f.Finding.Action));
        // A fresh run has nothing before it.
        Assert.Empty(Feed(new LossGuards(Settings(), new MonitorState(), resumed: false), Noisy(30, 9, level: 0.45)));
    }

    [Fact]
    public void APlateauFiresOncePerWindowAndNotWhileTheLossFalls()
    {
        var level = Enumerable.Range(0, 100).Select(i => 0.3 + (i % 2 == 0 ? 1e-3 : -1e-3)).ToArray();
        var flat = Feed(new LossGuards(Settings(s => s.PlateauSteps = 20), new MonitorState(), false), level);
        Assert.Equal(new long[] { 40, 60, 80, 100 }, flat.Select(f => f.Step));
        Assert.All(flat, f => Assert.Equal(("Plateau", "Warn"), (f.Finding.Kind, f.Finding.Action)));
        var falling = Enumerable.Range(0, 100).Select(i => 1.0 * Math.Pow(0.98, i)).ToArray();
        Assert.Empty(Feed(new LossGuards(Settings(s => s.PlateauSteps = 20), new MonitorState(), false), falling));
    }

    [Fact]
    public void TheGuardsMemoryRoundTripsThroughTheCheckpointState()
    {
        var m = new MonitorState();
        Feed(new LossGuards(Settings(s => s.PlateauSteps = 5), m, false), Noisy(30, 11).Append(double.NaN));
        m.Rollbacks = 1;
        m.LearningRateScale = 0.5;
        var state = new KohyaPS.Engine.Checkpoints.CheckpointState { RunId = "r", CheckpointId = "c", Monitors = m };
        var back = KohyaPS.Engine.Checkpoints.CheckpointState.Parse(state.ToJson(), "state.json").Monitors!;
        Assert.Equal(m.RecentLosses, back.RecentLosses);
        Assert.Equal(m.NonFiniteSteps, back.NonFiniteSteps);
        Assert.Equal(m.PlateauLosses, back.PlateauLosses);
        Assert.Equal((1, 0.5, 31L), (back.Rollbacks, back.LearningRateScale, back.TroubleSince!.Value));
    }
}
