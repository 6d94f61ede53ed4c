using System.Collections;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Tests.Hyperparameters;

public sealed class HyperparameterComparerTests
{
    private static KohyaHyperparameterDifference Single(Action<KohyaHyperparameterSet> change, Action<KohyaHyperparameterSet>? both = null)
    {
        var reference = new KohyaHyperparameterSet();
        both?.Invoke(reference);
        var other = reference.Clone();
        change(other);
        return Assert.Single(HyperparameterComparer.Compare(reference, other));
    }

    [Fact]
    public void EqualSetsHaveNoDifferences()
    {
        var set = HyperparameterYamlTests.RandomSet(new Random(3));
        Assert.Empty(HyperparameterComparer.Compare(set, set.Clone()));
        Assert.Empty(HyperparameterComparer.Compare(new KohyaHyperparameterSet(), new KohyaHyperparameterSet()));
    }

    [Theory]
    [InlineData("Saving.SaveEveryNSteps", 7, KohyaImpact.Cosmetic)]
    [InlineData("Sampling.Prompts", "a cat", KohyaImpact.Cosmetic)]
    [InlineData("Monitoring.LogEveryNSteps", 10, KohyaImpact.Cosmetic)]
    [InlineData("Optimizer.LearningRate", 5e-4, KohyaImpact.Trajectory)]
    [InlineData("Data.BatchSize", 4, KohyaImpact.Trajectory)]
    [InlineData("Data.GradientAccumulationSteps", 2, KohyaImpact.Trajectory)]
    [InlineData("Optimizer.Beta1", 0.8, KohyaImpact.Trajectory)]
    [InlineData("Optimizer.WeightDecay", 0.1, KohyaImpact.Trajectory)]
    [InlineData("Diffusion.NoiseOffset", 0.05, KohyaImpact.Trajectory)]
    [InlineData("Diffusion.MinSnrGamma", 5.0, KohyaImpact.Trajectory)]
    [InlineData("Training.Seed", 7L, KohyaImpact.Trajectory)]
    [InlineData("LRSchedule.Name", "cosine", KohyaImpact.Trajectory)]
    [InlineData("Model.Preset", "tiny", KohyaImpact.Incompatible)]
    [InlineData("Model.MaxTokens", 12, KohyaImpact.Incompatible)]
    [InlineData("Optimizer.Type", "Lion", KohyaImpact.Incompatible)]
    [InlineData("Network.Type", "lora", KohyaImpact.Incompatible)]
    public void EachOptionHasItsIssueClass(string path, object value, KohyaImpact impact)
    {
        var option = HyperparameterSchema.Find(path)!;
        var d = Single(s => HyperparameterValues.Apply(s, option, value));
        Assert.Equal(path, d.Name);
        Assert.Equal(impact, d.Impact);
        if (d.Reference is not string[])
            Assert.Equal(option.Default, d.Reference);
        Assert.False(string.IsNullOrEmpty(d.Note));
    }

    [Fact]
    public void NetworkRankAndAlphaAreIncompatibleForALora()
    {
        Assert.Equal(KohyaImpact.Incompatible, Single(s => s.Network.Dim = 8, both: s => s.Network.Type = "lora").Impact);
        Assert.Equal(KohyaImpact.Incompatible, Single(s => s.Network.Alpha = 4, both: s => s.Network.Type = "lora").Impact);
        Assert.Equal(KohyaImpact.Trajectory, Single(s => s.Network.UnetLearningRate = 1e-4, both: s => s.Network.Type = "lora").Impact);
    }

    [Fact]
    public void OptionsNeitherSetUsesAreCosmetic()
    {
        var dim = Single(s => s.Network.Dim = 8);
        Assert.Equal(KohyaImpact.Cosmetic, dim.Impact);
        Assert.Contains("not used", dim.Note);
        Assert.Equal(KohyaImpact.Cosmetic, Single(s => s.LRSchedule.NumCycles = 3).Impact);
        Assert.Equal(KohyaImpact.Trajectory, Single(s => s.LRSchedule.NumCycles = 3, both: s => s.LRSchedule.Name = "cosine_with_restarts").Impact);
        Assert.Equal(KohyaImpact.Cosmetic, Single(s => s.Optimizer.Momentum = 0.9).Impact);
        Assert.Equal(KohyaImpact.Trajectory, Single(s => s.Optimizer.Momentum = 0.9, both: s => s.Optimizer.Type = "SGD").Impact);
        // A longer run only matters to schedules that stretch with it.
        Assert.Equal(KohyaImpact.Cosmetic, Single(s => s.Training.MaxSteps = 900).Impact);
        Assert.Equal(KohyaImpact.Trajectory, Single(s => s.Training.MaxSteps = 900, both: s => s.LRSchedule.Name = "cosine").Impact);
        Assert.Equal(KohyaImpact.Cosmetic, Single(s => s.Data.MaxBucketReso = 128).Impact);
    }

    [Fact]
    public void NameCaseOnlyMattersWhereTheOptionSaysSo()
    {
        var reference = new KohyaHyperparameterSet();
        var other = reference.Clone();
        other.Optimizer.Type = "adamw";
        other.LRSchedule.Name = "CONSTANT";
        Assert.Empty(HyperparameterComparer.Compare(reference, other));
        other.Data.CaptionExtension = ".TXT";
        Assert.Equal("Data.CaptionExtension", Assert.Single(HyperparameterComparer.Compare(reference, other)).Name);
    }

    [Fact]
    public void OverridesAcceptDottedAndNestedNamesAndRejectMistakes()
    {
        var overrides = HyperparameterOverrides.From(new Hashtable
        {
            ["optimizer.learningrate"] = 5e-4,
            ["Data"] = new Hashtable { ["BatchSize"] = 2L, ["FlipAug"] = true },
            ["Network.TargetModules"] = new object[] { "a", "b" },
        }, "-Override");
        var set = new KohyaHyperparameterSet();
        overrides.ApplyTo(set);
        Assert.Equal(5e-4, set.Optimizer.LearningRate);
        Assert.Equal(2, set.Data.BatchSize);
        Assert.True(set.Data.FlipAug);
        Assert.Equal(new[] { "a", "b" }, set.Network.TargetModules);

        var unknown = Assert.Throws<KohyaException>(() => HyperparameterOverrides.From(new Hashtable { ["Optimizer.LearnRate"] = 1 }, "-Override"));
        Assert.Equal("HyperparameterUnknownKey", unknown.ErrorId);
        Assert.Contains("LearningRate", unknown.Message); // lists what the section has
        var noSection = Assert.Throws<KohyaException>(() => HyperparameterOverrides.From(new Hashtable { ["LearningRate"] = 1 }, "-Override"));
        Assert.Contains("Section.Option", noSection.Message);
        var wrongType = Assert.Throws<KohyaException>(() => HyperparameterOverrides.From(new Hashtable { ["Data.BatchSize"] = 2.5 }, "-Override"));
        Assert.Equal("HyperparameterInvalidValue", wrongType.ErrorId);
        Assert.Contains("Data.BatchSize", wrongType.Message);
        var twice = Assert.Throws<KohyaException>(() => HyperparameterOverrides.From(
            new Hashtable { ["Data.BatchSize"] = 2, ["Data"] = new Hashtable { ["batchsize"] = 3 } }, "-Override"));
        Assert.Equal("HyperparameterGivenTwice", twice.ErrorId);
    }

    [Theory]
    [InlineData(typeof(int), 5L, 5)]
    [InlineData(typeof(int), 5.0, 5)]
    [InlineData(typeof(int), "12", 12)]
    [InlineData(typeof(int), "1e3", 1000)]
    [InlineData(typeof(long), 3, 3L)]
    [InlineData(typeof(double), 3, 3.0)]
    [InlineData(typeof(double), "1e-4", 1e-4)]
    [InlineData(typeof(bool), "True", true)]
    [InlineData(typeof(string), 75L, "75")]
    public void ValuesConvertWhereTheMeaningIsClear(Type type, object input, object expected)
    {
        Assert.True(HyperparameterValues.TryConvert(input, type, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData(typeof(int), 2.5)]
    [InlineData(typeof(int), 3_000_000_000L)]
    [InlineData(typeof(int), "twelve")]
    [InlineData(typeof(bool), 1)]
    [InlineData(typeof(double), "1,5")]
    [InlineData(typeof(string), true)]
    public void ValuesThatDoNotFitAreRefused(Type type, object input) =>
        Assert.False(HyperparameterValues.TryConvert(input, type, out _));
}
