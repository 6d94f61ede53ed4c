using KohyaPS.Engine;
using KohyaPS.Engine.Optim;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static KohyaPS.Tests.Optim.OptimTestKit;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Optim;

/// <summary>Export/import: a resumed optimizer continues bitwise like the uninterrupted one; bad state is refused.</summary>
public sealed class OptimizerStateTests
{
    private const int StepsBefore = 3;
    private const int StepsAfter = 3;

    public OptimizerStateTests() => EnsureTorch();

    public static TheoryData<string> AllOptimizers() =>
        new() { "AdamW", "Adam", "SGD", "SGD-momentum", "SGD-nesterov", "Lion" };

    private static OptimizerSettings SettingsFor(string name) => name switch
    {
        "AdamW" => new OptimizerSettings { Type = "AdamW" },
        "Adam" => new OptimizerSettings { Type = "adam", WeightDecay = 0.01 },
        "SGD" => new OptimizerSettings { Type = "sgd", WeightDecay = 0.01 },
        "SGD-momentum" => new OptimizerSettings { Type = "SGD", Momentum = 0.9, Dampening = 0.1 },
        "SGD-nesterov" => new OptimizerSettings { Type = "SGD", Momentum = 0.9, Nesterov = true, WeightDecay = 0.01 },
        "Lion" => new OptimizerSettings { Type = "LION", WeightDecay = 0.1 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>A 3×2 weight and a bias of 2 with deterministic, non-round values.</summary>
    private static List<(string Name, Parameter Param)> MakeParameters()
    {
        float[] w = Enumerable.Range(0, 6).Select(i => (float)Math.Sin(i + 0.5)).ToArray();
        float[] b = [0.25f, -0.75f];
        return
        [
            ("unet.conv_in.weight", new Parameter(torch.tensor(w).reshape(3, 2), requires_grad: true)),
            ("unet.conv_in.bias", new Parameter(torch.tensor(b), requires_grad: true)),
        ];
    }

    private static List<(string Name, Parameter Param)> CopyParameters(IReadOnlyList<(string Name, Parameter Param)> ps) =>
        ps.Select(p => (p.Name, new Parameter(p.Param.detach().clone(), requires_grad: true))).ToList();

    /// <summary>
    /// One training step through autograd: loss = Σ 0.15·p² + Σ c_k·p, so grad = 0.3·p + c_k. On step 2 the
    /// bias takes no part, so its gradient stays null and its own step count lags.
    /// </summary>
    private static void TrainStep(KohyaOptimizer opt, IReadOnlyList<(string Name, Parameter Param)> ps, int k, double lr)
    {
        using var scope = torch.NewDisposeScope();
        opt.ZeroGrad();
        Tensor loss = torch.zeros(1);
        for (int j = 0; j < ps.Count; j++)
        {
            if (k == 2 && j == 1)
                continue;
            var p = ps[j].Param;
            var c = torch.cos(torch.arange(p.numel(), dtype: ScalarType.Float32).reshape(p.shape) * 0.7 + k * 1.3);
            loss = loss + (p * p * 0.15).sum() + (c * p).sum();
        }
        loss.backward();
        opt.Step(lr);
    }

    private static double LrAt(int k) => 0.01 / k;

    [Theory]
    [MemberData(nameof(AllOptimizers))]
    public void ResumeFromExportedStateContinuesBitwiseIdentically(string name)
    {
        using var scope = torch.NewDisposeScope();
        var settings = SettingsFor(name);

        var straight = MakeParameters();
        using var uninterrupted = OptimizerFactory.Create(settings, straight);
        for (int k = 1; k <= StepsBefore + StepsAfter; k++)
            TrainStep(uninterrupted, straight, k, LrAt(k));

        var first = MakeParameters();
        List<(string Name, Parameter Param)> resumedParams;
        OptimizerState saved;
        using (var interrupted = OptimizerFactory.Create(settings, first))
        {
            for (int k = 1; k <= StepsBefore; k++)
                TrainStep(interrupted, first, k, LrAt(k));
            saved = interrupted.ExportState();
            resumedParams = CopyParameters(first);
        }                                                        // the "process" ends here

        using (saved)
        using (var resumed = OptimizerFactory.Create(settings, resumedParams))
        {
            Assert.All(saved.Tensors.Values, t => Assert.Equal(DeviceType.CPU, t.device_type));
            resumed.ImportState(saved);
            Assert.Equal(StepsBefore, resumed.StepCount);
            using (var again = resumed.ExportState())
                AssertStatesBitwiseEqual(saved, again);          // import restores exactly what was exported

            for (int k = StepsBefore + 1; k <= StepsBefore + StepsAfter; k++)
                TrainStep(resumed, resumedParams, k, LrAt(k));

            for (int j = 0; j < straight.Count; j++)
                AssertBitwiseEqual(straight[j].Param, resumedParams[j].Param, straight[j].Name);
            using var a = uninterrupted.ExportState();
            using var b = resumed.ExportState();
            AssertStatesBitwiseEqual(a, b);
            Assert.Equal((StepsBefore + StepsAfter - 1).ToString(), b.Values["unet.conv_in.bias.step"]);
        }
    }

    [Fact]
    public void ExportedKeysAreParameterNameDotSlot()
    {
        using var scope = torch.NewDisposeScope();
        var ps = MakeParameters();
        using var opt = new AdamW(ps);
        using var state = opt.ExportState();
        Assert.Equal(
            ["unet.conv_in.bias.exp_avg", "unet.conv_in.bias.exp_avg_sq", "unet.conv_in.weight.exp_avg", "unet.conv_in.weight.exp_avg_sq"],
            state.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("AdamW", state.Values["kind"]);
        Assert.Equal("0", state.Values["step"]);
        Assert.Equal("0.01", state.Values["weight_decay"]);
        Assert.Equal("0.999", state.Values["beta2"]);
        Assert.Equal(new long[] { 3, 2 }, state.Tensors["unet.conv_in.weight.exp_avg"].shape);
    }

    private static OptimizerStateMismatchException ImportEdited(
        Action<Dictionary<string, Tensor>, Dictionary<string, string>> edit, string type = "AdamW")
    {
        var ps = MakeParameters();
        using var opt = OptimizerFactory.Create(new OptimizerSettings { Type = type }, ps);
        TrainStep(opt, ps, 1, 0.01);
        using var good = opt.ExportState();
        var tensors = good.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        var values = good.Values.ToDictionary(kv => kv.Key, kv => kv.Value);
        edit(tensors, values);
        var bad = new OptimizerState(tensors, values);

        var ex = Assert.Throws<OptimizerStateMismatchException>(() => opt.ImportState(bad));
        Assert.Equal("OptimizerStateMismatch", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidData, ex.Kind);
        Assert.IsAssignableFrom<KohyaException>(ex);

        using var after = opt.ExportState();                     // a refused import changes nothing
        AssertStatesBitwiseEqual(good, after);
        return ex;
    }

    [Fact]
    public void ImportRejectsMissingTensor()
    {
        using var scope = torch.NewDisposeScope();
        var ex = ImportEdited((t, _) => t.Remove("unet.conv_in.weight.exp_avg_sq"));
        Assert.Equal(["unet.conv_in.weight.exp_avg_sq"], ex.Missing);
        Assert.Empty(ex.Unexpected);
        Assert.Contains("unet.conv_in.weight.exp_avg_sq", ex.Message);
    }

    [Fact]
    public void ImportRejectsUnexpectedTensors()
    {
        using var scope = torch.NewDisposeScope();
        var ex = ImportEdited((t, _) =>
        {
            t["unet.conv_in.weight.momentum_buffer"] = torch.zeros(3, 2);
            t["unet.conv_out.weight.exp_avg"] = torch.zeros(3, 2);
        });
        Assert.Equal(["unet.conv_in.weight.momentum_buffer", "unet.conv_out.weight.exp_avg"], ex.Unexpected);
        Assert.Contains("unet.conv_out.weight.exp_avg", ex.Message);
    }

    [Fact]
    public void ImportRejectsWrongShapeAndDtype()
    {
        using var scope = torch.NewDisposeScope();
        var ex = ImportEdited((t, _) =>
        {
            t["unet.conv_in.bias.exp_avg"] = torch.zeros(3);
            t["unet.conv_in.weight.exp_avg"] = torch.zeros(new long[] { 3, 2 }, dtype: ScalarType.Float64);
        });
        Assert.Equal(2, ex.Mismatched.Count);
        Assert.Contains(ex.Mismatched, m => m.StartsWith("unet.conv_in.bias.exp_avg: shape [3], expected [2]", StringComparison.Ordinal));
        Assert.Contains(ex.Mismatched, m => m.StartsWith("unet.conv_in.weight.exp_avg: dtype Float64", StringComparison.Ordinal));
        Assert.Contains("unet.conv_in.bias.exp_avg", ex.Message);
    }

    [Fact]
    public void ImportRejectsMissingOrBadScalars()
    {
        using var scope = torch.NewDisposeScope();
        var ex = ImportEdited((_, v) =>
        {
            v.Remove("unet.conv_in.bias.step");
            v["kind"] = "Lion";
            v["step"] = "-1";
            v["extra_setting"] = "1";
        });
        Assert.Contains("unet.conv_in.bias.step", ex.Missing);
        Assert.Contains("extra_setting", ex.Unexpected);
        Assert.Contains(ex.Mismatched, m => m.StartsWith("kind:", StringComparison.Ordinal));
        Assert.Contains(ex.Mismatched, m => m.StartsWith("step:", StringComparison.Ordinal));
    }

    [Fact]
    public void ImportRejectsStateOfAnotherOptimizerKind()
    {
        using var scope = torch.NewDisposeScope();
        var ps = MakeParameters();
        using var lion = new Lion(ps);
        using var lionState = lion.ExportState();
        using var adam = new AdamW(ps);
        var ex = Assert.Throws<OptimizerStateMismatchException>(() => adam.ImportState(lionState));
        Assert.Contains("unet.conv_in.weight.exp_avg_sq", ex.Missing);
        Assert.Contains(ex.Mismatched, m => m.StartsWith("kind: 'Lion', expected 'AdamW'", StringComparison.Ordinal));
    }
}
