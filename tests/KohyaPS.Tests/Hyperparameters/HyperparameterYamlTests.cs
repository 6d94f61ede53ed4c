using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Tests.Hyperparameters;

public sealed class HyperparameterYamlTests
{
    /// <summary>A set with every option drawn at random (values need not be valid: YAML must carry anything the type holds).</summary>
    internal static KohyaHyperparameterSet RandomSet(Random random)
    {
        var set = new KohyaHyperparameterSet();
        foreach (var option in HyperparameterSchema.Options)
            option.Set(set, RandomValue(random, option.ValueType));
        return set;
    }

    private static object? RandomValue(Random r, Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } inner)
            return r.Next(4) == 0 ? null : RandomValue(r, inner);
        if (type == typeof(int)) return r.Next(5) == 0 ? int.MinValue + r.Next(3) : r.Next(-1000, 100000);
        if (type == typeof(long)) return r.Next(5) == 0 ? long.MaxValue - r.Next(3) : r.NextInt64(-1_000_000, 10_000_000_000);
        if (type == typeof(bool)) return r.Next(2) == 0;
        if (type == typeof(double))
        {
            return r.Next(8) switch
            {
                0 => 0.0,
                1 => -r.NextDouble(),
                2 => double.Epsilon,
                3 => 1e-300 * r.NextDouble(),
                4 => Math.Pow(10, r.Next(-12, 12)) * r.NextDouble(),
                5 => (double)r.Next(0, 10),
                6 => 0.1 + 0.2,
                _ => BitConverter.Int64BitsToDouble(r.NextInt64(0, 0x7FEF_FFFF_FFFF_FFFF)),
            };
        }
        if (type == typeof(string)) return RandomText(r);
        if (type == typeof(string[])) return Enumerable.Range(0, r.Next(4)).Select(_ => RandomText(r)).ToArray();
        throw new NotSupportedException(type.Name);
    }

    private static readonly string[] Tricky =
    {
        "", " ", "null", "~", "true", "123", "1e5", "- a", "a: b", "#x", "x # y", "'q'", "\"dq\"", "[a]", "{b}", "*ref", "&anchor", "!tag", "%p", "@", "`",
        "C:\\data\\10_sks cat", "\\\\nas\\runs", "line1\nline2", "tab\there", "trailing ", "\u0001ctl", "ü€😀", "\r\n", "...", "---", "?", ",", "|", ">",
    };

    private static string RandomText(Random r)
    {
        if (r.Next(3) == 0) return Tricky[r.Next(Tricky.Length)];
        int length = r.Next(0, 12);
        var chars = new char[length];
        for (int i = 0; i < length; i++)
            chars[i] = r.Next(10) switch
            {
                0 => (char)r.Next(0x20, 0x7F),
                1 => "\n\t :#'\"\\-"[r.Next(9)],
                2 => (char)r.Next(0xA0, 0x2000),
                _ => (char)('a' + r.Next(26)),
            };
        return new string(chars);
    }

    internal static void AssertEqualSets(KohyaHyperparameterSet expected, KohyaHyperparameterSet actual, string context)
    {
        foreach (var option in HyperparameterSchema.Options)
        {
            object? e = option.Get(expected), a = option.Get(actual);
            bool equal = e is string[] le ? le.SequenceEqual((string[])a!) : e is double de ? BitConverter.DoubleToInt64Bits(de) == BitConverter.DoubleToInt64Bits((double)a!) : Equals(e, a);
            Assert.True(equal, $"{context}: {option.Path} was {HyperparameterValues.Format(e)}, read back {HyperparameterValues.Format(a)}");
        }
    }

    [Fact]
    public void RandomSetsSurviveARoundTripExactly()
    {
        for (int seed = 0; seed < 300; seed++)
        {
            var set = RandomSet(new Random(seed));
            string yaml = HyperparameterYaml.Serialize(set);
            KohyaHyperparameterSet back;
            try
            {
                back = HyperparameterYaml.Parse(yaml, $"seed {seed}");
            }
            catch (KohyaException ex)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed}: {ex.Message}\n{yaml}");
            }
            AssertEqualSets(set, back, $"seed {seed}");
            Assert.Equal(yaml, HyperparameterYaml.Serialize(back)); // writing is stable
        }
    }

    [Fact]
    public void WrittenFileDescribesEveryOptionAndDefaultsReadBack()
    {
        string yaml = HyperparameterYaml.Serialize(new KohyaHyperparameterSet());
        foreach (var option in HyperparameterSchema.Options)
            Assert.Contains("# " + option.Description, yaml);
        Assert.Contains("\nNetwork:\n", yaml);
        AssertEqualSets(new KohyaHyperparameterSet(), HyperparameterYaml.Parse(yaml), "defaults");
    }

    [Fact]
    public void AFileWrittenByTheEarlierSerializerStillReads()
    {
        // Checkpoints written before this version hold YamlDotNet's serializer output: empty nulls, 1E-08, '' for "".
        const string old = "Model:\n  Preset: tiny\n  TextEncoderLayers: 2\n  MaxTokens: 12\n  TrainTextEncoder: true\nOptimizer:\n  Type: AdamW\n"
            + "  LearningRate: 0.30000000000000004\n  Beta1: \n  Beta2: \n  Epsilon: 1E-08\n  WeightDecay: \n  Momentum: 0\n  Nesterov: false\n  MaxGradNorm: 1\n"
            + "LRSchedule:\n  Name: constant\n  WarmupSteps: 0\n  NumCycles: 1\n  Power: 1\nData:\n  Resolution: 16\n  CaptionExtension: ''\n"
            + "Training:\n  MaxSteps: 300\n  Seed: 42\nSaving:\n  SaveEveryNSteps: 100\n  AsyncSave: true\n";
        var set = HyperparameterYaml.Parse(old);
        Assert.Equal("tiny", set.Model.Preset);
        Assert.Equal(0.1 + 0.2, set.Optimizer.LearningRate);
        Assert.Null(set.Optimizer.Beta1);
        Assert.Equal(1e-8, set.Optimizer.Epsilon);
        Assert.Equal("", set.Data.CaptionExtension);
        Assert.Equal("none", set.Network.Type); // sections the old file lacks keep their defaults
        Assert.Equal(1, set.Monitoring.LogEveryNSteps);
    }

    [Theory]
    [InlineData("Model:\n  Preset: tiny\n  Colour: blue\n", "HyperparameterUnknownKey", "line 3", "Colour")]
    [InlineData("Modle:\n  Preset: tiny\n", "HyperparameterUnknownKey", "line 1", "Modle")]
    [InlineData("Optimizer:\n  LearningRate: fast\n", "HyperparameterInvalidValue", "line 2", "Optimizer.LearningRate")]
    [InlineData("Data:\n  BatchSize: 2.5\n", "HyperparameterInvalidValue", "line 2", "Data.BatchSize")]
    [InlineData("Data:\n  BatchSize:\n", "HyperparameterInvalidValue", "line 2", "Data.BatchSize")]
    [InlineData("Model:\n  TrainTextEncoder: maybe\n", "HyperparameterInvalidValue", "line 2", "Model.TrainTextEncoder")]
    [InlineData("Network:\n  TargetModules: Transformer2DModel\n", "HyperparameterInvalidValue", "line 2", "Network.TargetModules")]
    [InlineData("Optimizer:\n  Beta1: [0.9]\n", "HyperparameterInvalidValue", "line 2", "Optimizer.Beta1")]
    [InlineData("Optimizer: 3\n", "HyperparameterYamlInvalid", "line 1", "Optimizer")]
    [InlineData("Optimizer:\n  LearningRate: 1\n  learningrate: 2\n", "HyperparameterYamlInvalid", "line 3", "given twice")]
    [InlineData("Optimizer:\n  LearningRate: [1\n", "HyperparameterYamlInvalid", "line", "not valid YAML")]
    [InlineData("- a\n- b\n", "HyperparameterYamlInvalid", "line 1", "mapping of sections")]
    public void MistakesNameTheKeyAndTheLine(string yaml, string errorId, string line, string named)
    {
        var ex = Assert.Throws<KohyaException>(() => HyperparameterYaml.Parse(yaml, "hp.yaml"));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Contains("hp.yaml", ex.Message);
        Assert.Contains(line, ex.Message);
        Assert.Contains(named, ex.Message);
    }

    [Fact]
    public void KeysMatchCaseInsensitivelyAndEmptyPartsKeepDefaults()
    {
        var set = HyperparameterYaml.Parse("optimizer:\n  learningRate: 5e-4\n  beta1: ~\nSampling:\nNetwork:\n  TargetModules: [a, 'b c']\n");
        Assert.Equal(5e-4, set.Optimizer.LearningRate);
        Assert.Null(set.Optimizer.Beta1);
        Assert.Equal(new[] { "a", "b c" }, set.Network.TargetModules);
        Assert.Equal("ddim", set.Sampling.Sampler);
        AssertEqualSets(new KohyaHyperparameterSet(), HyperparameterYaml.Parse(""), "empty file");
        AssertEqualSets(new KohyaHyperparameterSet(), HyperparameterYaml.Parse("# only a comment\n"), "comment only");
    }
}
