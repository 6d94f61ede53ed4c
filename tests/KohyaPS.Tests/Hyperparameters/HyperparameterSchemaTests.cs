using System.ComponentModel;
using System.Reflection;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Tests.Hyperparameters;

public sealed class HyperparameterSchemaTests
{
    /// <summary>Every settable property of every section, found by plain reflection (not through the schema under test).</summary>
    public static IEnumerable<object[]> AllOptions() =>
        typeof(KohyaHyperparameterSet).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .SelectMany(section => section.PropertyType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Select(p => new object[] { section.Name, p.Name }));

    private static PropertyInfo Property(string section, string option) =>
        typeof(KohyaHyperparameterSet).GetProperty(section)!.PropertyType.GetProperty(option)!;

    [Theory]
    [MemberData(nameof(AllOptions))]
    public void EveryOptionIsClassifiedDescribedAndSettable(string section, string option)
    {
        var property = Property(section, option);
        Assert.True(property.GetCustomAttribute<ImpactAttribute>() is not null, $"{section}.{option} has no [Impact]: classify it as Cosmetic, Trajectory or Incompatible.");
        Assert.False(string.IsNullOrWhiteSpace(property.GetCustomAttribute<DescriptionAttribute>()?.Description), $"{section}.{option} has no [Description].");
        Assert.True(property.CanWrite, $"{section}.{option} must be settable (PowerShell hashtables and YAML set it).");
        var supported = new[] { typeof(int), typeof(long), typeof(double), typeof(bool), typeof(string), typeof(double?), typeof(long?), typeof(string[]) };
        Assert.Contains(property.PropertyType, supported);
    }

    [Fact]
    public void EverySectionHasADescriptionAndTheSchemaSeesEveryOption()
    {
        foreach (var section in typeof(KohyaHyperparameterSet).GetProperties())
            Assert.False(string.IsNullOrWhiteSpace(section.GetCustomAttribute<DescriptionAttribute>()?.Description), section.Name);
        Assert.Equal(AllOptions().Count(), HyperparameterSchema.Options.Count);
        Assert.Equal(new[] { "Model", "Network", "Optimizer", "LRSchedule", "Diffusion", "Data", "Resources", "Training", "Saving", "Sampling", "Monitoring" },
            HyperparameterSchema.Sections.Select(s => s.Name));
    }

    [Fact]
    public void DefaultsAndTheDefaultLoraSetAreValid()
    {
        var set = new KohyaHyperparameterSet();
        HyperparameterValidator.Validate(set);
        set.Network.Type = "lora";
        HyperparameterValidator.Validate(set); // LoRA trains since issue 10; tests/KohyaPS.Tests/Network covers it
    }

    [Theory]
    [InlineData("Network.Type", "conv")]
    [InlineData("Network.Dim", 0)]
    [InlineData("Network.Alpha", -1.0)]
    [InlineData("Network.UnetLearningRate", 0.0)]
    [InlineData("Sampling.Sampler", "magic")]
    [InlineData("Sampling.Width", 100)]
    [InlineData("Monitoring.LogEveryNSteps", 0)]
    [InlineData("Monitoring.LossSpikeThreshold", 0.5)]
    [InlineData("Monitoring.LossSpikeAction", "panic")]
    [InlineData("LRSchedule.RewarmSteps", -1)]
    public void ValidationNamesTheOption(string path, object value)
    {
        var set = new KohyaHyperparameterSet();
        HyperparameterSchema.Find(path)!.Set(set, value);
        var ex = Assert.Throws<KohyaPS.Engine.KohyaException>(() => HyperparameterValidator.Validate(set));
        Assert.Equal("InvalidHyperparameter", ex.ErrorId);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void CloneIsDeepIncludingLists()
    {
        var set = new KohyaHyperparameterSet();
        set.Network.TargetModules = new[] { "Transformer2DModel" };
        set.Sampling.Prompts = new[] { "a cat" };
        var copy = set.Clone();
        copy.Network.TargetModules[0] = "changed";
        copy.Sampling.Prompts[0] = "changed";
        copy.Optimizer.LearningRate = 5;
        Assert.Equal("Transformer2DModel", set.Network.TargetModules[0]);
        Assert.Equal("a cat", set.Sampling.Prompts[0]);
        Assert.Equal(1e-3, set.Optimizer.LearningRate);
    }
}
