using System.Collections;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Training;

namespace KohyaPS.Tests.Hyperparameters;

/// <summary>The resume policy as a pure decision (no training): what is allowed, refused and recorded.</summary>
public sealed class ResumePolicyTests
{
    private static KohyaHyperparameterSet Saved() => new() { Training = { MaxSteps = 100 } };

    private static ResumeDecision Decide(ResumeRequest request, KohyaHyperparameterSet? saved = null) =>
        ResumePolicy.Decide(saved ?? Saved(), 40, request);

    private static KohyaHyperparameterSet Requested(Action<KohyaHyperparameterSet> change)
    {
        var set = Saved();
        change(set);
        return set;
    }

    [Fact]
    public void NoDifferenceGoesAndRecordsNothing()
    {
        var d = Decide(new ResumeRequest { RunPath = "r" });
        Assert.Empty(d.Records);
        Assert.Empty(d.Warnings);
        Assert.False(d.ResetOptimizer);
        var same = Decide(new ResumeRequest { RunPath = "r", Hyperparameters = Saved() });
        Assert.Empty(same.Applied);
    }

    [Fact]
    public void TheTargetIsNotDriftAndKeepsItsRecordForm()
    {
        var d = Decide(new ResumeRequest { RunPath = "r", AdditionalSteps = 20 }, new KohyaHyperparameterSet { Training = { MaxSteps = 100 }, LRSchedule = { Name = "cosine" } });
        Assert.Equal(60, d.Effective.Training.MaxSteps);
        Assert.Equal(new[] { "Training.MaxSteps: 100 -> 60" }, d.Records);
    }

    [Fact]
    public void TrajectoryDifferencesAreRefusedListingEach()
    {
        var request = new ResumeRequest { RunPath = "r", Hyperparameters = Requested(s => { s.Optimizer.LearningRate = 5e-4; s.Data.BatchSize = 4; }) };
        var ex = Assert.Throws<KohyaException>(() => Decide(request));
        Assert.Equal("HyperparameterDriftRefused", ex.ErrorId);
        Assert.Contains("Optimizer.LearningRate: 0.001 -> 0.0005 (Trajectory)", ex.Message);
        Assert.Contains("Data.BatchSize: 8 -> 4 (Trajectory)", ex.Message);
        var listed = Assert.IsType<KohyaHyperparameterDifference[]>(ex.Target);
        Assert.Equal(new[] { "Optimizer.LearningRate", "Data.BatchSize" }, listed.Select(x => x.Name));
        Assert.Contains("-Override", ex.RecommendedAction);
    }

    [Fact]
    public void NamingAChangeInOverrideAllowsItAndOnlyIt()
    {
        var d = Decide(new ResumeRequest { RunPath = "r", Overrides = new Hashtable { ["Optimizer.LearningRate"] = 5e-4 } });
        Assert.Equal(5e-4, d.Effective.Optimizer.LearningRate);
        Assert.Equal(new[] { "Optimizer.LearningRate: 0.001 -> 0.0005 (Trajectory) via -Override" }, d.Records);

        var both = new ResumeRequest
        {
            RunPath = "r",
            Hyperparameters = Requested(s => { s.Optimizer.LearningRate = 5e-4; s.Data.BatchSize = 4; }),
            Overrides = new Hashtable { ["Optimizer.LearningRate"] = 5e-4 },
        };
        var ex = Assert.Throws<KohyaException>(() => Decide(both));
        var refused = Assert.Single((KohyaHyperparameterDifference[])ex.Target!);
        Assert.Equal("Data.BatchSize", refused.Name);
    }

    [Fact]
    public void ForceAcceptsTrajectoryDifferencesWithAWarning()
    {
        var d = Decide(new ResumeRequest { RunPath = "r", Force = true, Hyperparameters = Requested(s => { s.Training.Seed = 7; s.Saving.KeepLast = 3; }) });
        Assert.Equal(7, d.Effective.Training.Seed);
        Assert.Contains("Training.Seed: 42 -> 7 (Trajectory) via -Force", d.Records);
        Assert.Contains("Saving.KeepLast: 0 -> 3 (Cosmetic) via the requested set", d.Records);
        Assert.Contains("Training.Seed", Assert.Single(d.Warnings));
    }

    [Fact]
    public void CosmeticDifferencesGoWithoutForce()
    {
        var d = Decide(new ResumeRequest { RunPath = "r", Hyperparameters = Requested(s => s.Saving.SaveEveryNSteps = 5) });
        Assert.Equal(5, d.Effective.Saving.SaveEveryNSteps);
        Assert.Single(d.Records);
        Assert.Empty(d.Warnings);
    }

    [Fact]
    public void IncompatibleDifferencesAreRefusedEvenWithForce()
    {
        var request = new ResumeRequest { RunPath = "r", Force = true, Overrides = new Hashtable { ["Model.Preset"] = "tiny" } };
        var ex = Assert.Throws<KohyaException>(() => Decide(request));
        Assert.Equal("HyperparameterChangeIncompatible", ex.ErrorId);
        Assert.Contains("Model.Preset: small -> tiny (Incompatible)", ex.Message);
        Assert.Contains("new run", ex.RecommendedAction);
    }

    [Fact]
    public void AnOptimizerTypeChangeNeedsResetOptimizerWhichIsRecorded()
    {
        var change = new Hashtable { ["Optimizer.Type"] = "Lion" };
        var ex = Assert.Throws<KohyaException>(() => Decide(new ResumeRequest { RunPath = "r", Overrides = change }));
        Assert.Equal("HyperparameterChangeIncompatible", ex.ErrorId);
        Assert.Contains("-ResetOptimizer", ex.RecommendedAction);

        var d = Decide(new ResumeRequest { RunPath = "r", Overrides = change, ResetOptimizer = true });
        Assert.True(d.ResetOptimizer);
        Assert.Equal("Lion", d.Effective.Optimizer.Type);
        Assert.Contains("Optimizer.Type: AdamW -> Lion (Incompatible) via -ResetOptimizer", d.Records);
        Assert.Contains(d.Records, r => r.StartsWith("Optimizer state: reset via -ResetOptimizer", StringComparison.Ordinal));
    }

    [Fact]
    public void RewarmIsWrittenIntoTheSetAndRecorded()
    {
        var d = Decide(new ResumeRequest { RunPath = "r", RewarmSteps = 10 });
        Assert.Equal(10, d.Effective.LRSchedule.RewarmSteps);
        Assert.Equal(40, d.Effective.LRSchedule.RewarmStartStep);
        Assert.Contains("LRSchedule.RewarmSteps: 0 -> 10 (Trajectory) via -Rewarm", d.Records);
        Assert.Contains("LRSchedule.RewarmStartStep: 0 -> 40 (Trajectory) via -Rewarm", d.Records);

        // A later resume with a set that says nothing about re-warming keeps the one under way.
        var afterRewarm = d.Effective;
        var next = ResumePolicy.Decide(afterRewarm, 45, new ResumeRequest { RunPath = "r", Hyperparameters = Saved() });
        Assert.Empty(next.Records);
        Assert.Equal(10, next.Effective.LRSchedule.RewarmSteps);

        Assert.Equal("ConflictingRewarm", Assert.Throws<KohyaException>(() =>
            Decide(new ResumeRequest { RunPath = "r", RewarmSteps = 5, Overrides = new Hashtable { ["LRSchedule.RewarmSteps"] = 3 } })).ErrorId);
    }

    [Fact]
    public void ConflictsAndInvalidResultsAreErrors()
    {
        Assert.Equal("ConflictingTarget", Assert.Throws<KohyaException>(() =>
            Decide(new ResumeRequest { RunPath = "r", MaxSteps = 90, Overrides = new Hashtable { ["Training.MaxSteps"] = 80 } })).ErrorId);
        Assert.Equal("InvalidHyperparameter", Assert.Throws<KohyaException>(() =>
            Decide(new ResumeRequest { RunPath = "r", Overrides = new Hashtable { ["Optimizer.LearningRate"] = -1 } })).ErrorId);
        // Turning a full fine-tune into a LoRA run changes what the checkpoint holds: never carried over.
        Assert.Equal("HyperparameterChangeIncompatible", Assert.Throws<KohyaException>(() =>
            Decide(new ResumeRequest { RunPath = "r", Overrides = new Hashtable { ["Network.Type"] = "lora" } })).ErrorId);
    }

    [Fact]
    public void ChangingThreadsOnPurposeIsReported()
    {
        var d = Decide(new ResumeRequest { RunPath = "r", Overrides = new Hashtable { ["Resources.Threads"] = 1 } });
        Assert.True(d.ThreadsChanged);
        Assert.False(Decide(new ResumeRequest { RunPath = "r" }).ThreadsChanged);
    }
}
