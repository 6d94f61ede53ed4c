using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Precision;

/// <summary>
/// bfloat16 training on the tiny preset through the real runner: the model computes in bfloat16, the optimizer
/// updates float32 masters, checkpoints hold float32, and an interrupted run resumes bitwise.
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class MixedPrecisionTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-precision-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    internal static KohyaHyperparameterSet Bf16(long steps, Action<KohyaHyperparameterSet>? tweak = null) =>
        TrainingTestSupport.Tiny(steps, tweak: hp =>
        {
            hp.Resources.Dtype = "bfloat16";
            tweak?.Invoke(hp);
        });

    private KohyaTrainingResult Train(string name, KohyaHyperparameterSet hp, string data, params ITrainingHook[] hooks) =>
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = Path.Combine(_root, name), ExtraHooks = hooks },
            NullTrainingObserver.Instance, CancellationToken.None);

    [Fact]
    public void Bfloat16TrainingLowersTheLossAndSavesFloat32Masters()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var result = Train("bf16", Bf16(30, hp => hp.Saving.SaveEveryNSteps = 30), data);

        Assert.Equal("Completed", result.Status);
        Assert.True(result.FinalLoss < result.InitialLoss * 0.9, $"loss {result.InitialLoss} -> {result.FinalLoss}");
        using var file = SafetensorsFile.Open(Path.Combine(result.LatestCheckpoint!, CheckpointNames.ModelFile));
        Assert.NotEmpty(file.Entries);
        Assert.All(file.Entries, e => Assert.Equal(SafetensorsDtype.F32, e.Dtype));
        var state = CheckpointState.Parse(File.ReadAllText(Path.Combine(result.LatestCheckpoint!, CheckpointNames.StateFile)), "state.json");
        Assert.Equal("bfloat16", state.Dtype);
        Assert.Null(state.LossScaler); // bfloat16 has float32's range: no loss scale
        Assert.True(CheckpointStore.Verify(result.LatestCheckpoint!).IsValid);
        var test = KohyaPS.Engine.Checkpoints.Verification.CheckpointVerifier.Test(result.LatestCheckpoint!, deep: true);
        Assert.True(test.IsValid, string.Join("; ", test.Checks.Where(c => c.Status != KohyaCheckStatus.Pass).Select(c => $"{c.Name}: {c.Message}")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MastersAreFloat32AndComputeWeightsBfloat16(bool lora)
    {
        var hp = Bf16(1, h =>
        {
            if (lora) { h.Network.Type = "lora"; h.Network.Dim = 2; }
        });
        var tokenizer = WordTokenizer.FromCaptions(new[] { "a red box" }, hp.Model.MaxTokens);
        using var fp32 = TrainingModel.Create(hp.Model, tokenizer, 5, CPU, hp.Network);
        using var model = TrainingModel.Create(hp.Model, tokenizer, 5, CPU, hp.Network, "bfloat16");

        Assert.NotNull(model.Precision);
        Assert.All(model.TrainableParameters, p => Assert.Equal(ScalarType.Float32, p.Param.dtype));
        Assert.All(model.TrainableParameters, p => Assert.True(p.Param.requires_grad));
        Assert.All(model.UNet.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.All(model.TextEncoder.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        if (lora)
        {
            Assert.All(model.Lora!.Parameters(), p => Assert.Equal(ScalarType.BFloat16, p.Param.dtype));
            Assert.All(model.UNet.parameters(), p => Assert.False(p.requires_grad)); // the frozen base is simply cast
        }
        // The masters are the seeded float32 weights, not a bfloat16 rounding of them.
        var reference = fp32.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
        var masters = model.StateTensors().ToList();
        Assert.Equal(reference.Keys, masters.Select(kv => kv.Key));
        Assert.All(masters, kv => Assert.True(reference[kv.Key].dtype != ScalarType.Float32 || kv.Value.dtype == ScalarType.Float32, kv.Key));
        Assert.All(masters, kv => Assert.True(reference[kv.Key].eq(kv.Value).all().item<bool>(), kv.Key));
        Assert.Equal(fp32.BaseHash, model.BaseHash);

        // The prediction comes back in the input's float32 whatever the compute dtype.
        using var scope = NewDisposeScope();
        var prediction = model.Predict(randn(1, 3, 16, 16), tensor(new long[] { 10 }), new[] { "a red box" });
        Assert.Equal(ScalarType.Float32, prediction.dtype);
    }

    [Fact]
    public void InterruptedBfloat16RunResumesBitwise()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var hp = Bf16(6, h => h.Saving.SaveEveryNSteps = 3);
        var straight = Train("straight", hp, data);
        var first = Train("split", hp, data, new StopAtStep(3));
        Assert.Equal("Stopped", first.Status);
        var resumed = TrainingRunner.Resume(new ResumeRequest { RunPath = Path.Combine(_root, "split") }, NullTrainingObserver.Instance, CancellationToken.None);

        Assert.Equal(6, resumed.FinalStep);
        foreach (string file in new[] { CheckpointNames.ModelFile, CheckpointNames.OptimizerFile })
        {
            var a = TrainingTestSupport.TensorBytes(Path.Combine(straight.LatestCheckpoint!, file));
            var b = TrainingTestSupport.TensorBytes(Path.Combine(resumed.LatestCheckpoint!, file));
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(b[kv.Key]), $"{file}: {kv.Key} differs"));
        }
    }

    [Theory]
    [InlineData("float64")]
    [InlineData("fp16")]
    [InlineData("")]
    public void UnknownDtypeIsRefused(string dtype)
    {
        var hp = Bf16(1, h => h.Resources.Dtype = dtype);
        var ex = Assert.Throws<KohyaException>(() => HyperparameterValidator.Validate(hp));
        Assert.Equal("InvalidHyperparameter", ex.ErrorId);
        Assert.Contains("Resources.Dtype", ex.Message);
        var direct = Assert.Throws<KohyaException>(() => KohyaPS.Engine.Precision.ComputeDtype.Parse(dtype));
        Assert.Equal("InvalidDtype", direct.ErrorId);
    }

    [Theory]
    [InlineData("BFloat16")]
    [InlineData("float16")]
    [InlineData("FLOAT32")]
    public void KnownDtypesAreAccepted(string dtype) => HyperparameterValidator.Validate(Bf16(1, h => h.Resources.Dtype = dtype));

    [Fact]
    public void Float16TrainsOnTheCpuWithALossScaleThatResumesExactly()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var hp = Bf16(6, h => { h.Resources.Dtype = "float16"; h.Saving.SaveEveryNSteps = 3; });
        var straight = Train("fp16-straight", hp, data);
        Train("fp16-split", hp, data, new StopAtStep(3));
        var resumed = TrainingRunner.Resume(new ResumeRequest { RunPath = Path.Combine(_root, "fp16-split") }, NullTrainingObserver.Instance, CancellationToken.None);

        Assert.True(double.IsFinite(straight.FinalLoss));
        var state = CheckpointState.Parse(File.ReadAllText(Path.Combine(straight.LatestCheckpoint!, CheckpointNames.StateFile)), "state.json");
        Assert.NotNull(state.LossScaler);
        Assert.True(state.LossScaler!.Scale >= 1);
        var resumedState = CheckpointState.Parse(File.ReadAllText(Path.Combine(resumed.LatestCheckpoint!, CheckpointNames.StateFile)), "state.json");
        Assert.Equal((state.LossScaler.Scale, state.LossScaler.GoodSteps), (resumedState.LossScaler!.Scale, resumedState.LossScaler.GoodSteps));
        var a = TrainingTestSupport.TensorBytes(Path.Combine(straight.LatestCheckpoint!, CheckpointNames.ModelFile));
        var b = TrainingTestSupport.TensorBytes(Path.Combine(resumed.LatestCheckpoint!, CheckpointNames.ModelFile));
        Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(b[kv.Key]), kv.Key));
    }

    [Fact]
    public void Float16OverflowSkipsTheStepLowersTheScaleAndIsNoBlowUp()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        var hp = Bf16(16, h => h.Resources.Dtype = "float16");
        var probe = new ScaleProbe(Math.Pow(2, 24));
        var result = Train("fp16-overflow", hp, data, probe);

        Assert.Equal("Completed", result.Status);
        var overflows = result.Events.Where(e => e.Kind == "LossScaleOverflow").ToList();
        Assert.NotEmpty(overflows);
        Assert.DoesNotContain(result.Events, e => e.Kind == "NonFinite");
        // Each overflow halves the scale; the first good step keeps the weights moving with a finite gradient.
        Assert.Equal(Math.Pow(2, 24 - overflows.Count), probe.Scales[^1]);
        Assert.All(probe.Scales.Zip(probe.Scales.Skip(1)), p => Assert.True(p.Second == p.First || p.Second == p.First / 2));
        Assert.Equal(overflows.Count, probe.Reports.Count(r => !double.IsFinite(r.GradNorm)));
        Assert.All(probe.Reports, r => Assert.False(r.Skipped));
        Assert.Contains(probe.Reports, r => double.IsFinite(r.GradNorm));
    }

    [Fact]
    public void Bfloat16LoraStartsFromALoraFileWithItsFloat32ValuesOnTheMasters()
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        void Lora(KohyaHyperparameterSet h) { h.Network.Type = "lora"; h.Network.Dim = 2; h.Saving.SaveEveryNSteps = 2; }
        var source = Train("lora-source", TrainingTestSupport.Tiny(2, tweak: Lora), data);
        string file = Path.Combine(_root, "start.safetensors");
        KohyaPS.Engine.LoraExport.CheckpointLoraExport.Export(new KohyaPS.Engine.LoraExport.LoraExportRequest
        {
            CheckpointPath = source.LatestCheckpoint!, OutputPath = file, Dtype = KohyaPS.Engine.Interop.KohyaLoraSaveDtype.Float32,
        });
        var first = new FirstMasters();
        TrainingRunner.Run(new TrainingRequest
        {
            Hyperparameters = Bf16(2, Lora), DatasetPath = data, OutputPath = Path.Combine(_root, "lora-bf16"), NetworkWeightsPath = file, ExtraHooks = [first],
        }, NullTrainingObserver.Instance, CancellationToken.None);

        // The masters the bfloat16 run starts from are the file's float32 values exactly, not a bfloat16 rounding.
        var trained = TrainingTestSupport.TensorBytes(Path.Combine(source.LatestCheckpoint!, CheckpointNames.ModelFile));
        Assert.Equal(trained.Keys.Order(), first.Bytes!.Keys.Order());
        Assert.All(trained, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(first.Bytes[kv.Key]), kv.Key));
        Assert.Contains(first.Bytes, kv => kv.Key.EndsWith(".lora_up.weight", StringComparison.Ordinal) && kv.Value.Any(b => b != 0));
        Assert.True(first.ComputeMatchesMasters);
    }

    private sealed class FirstMasters : ITrainingHook
    {
        public Dictionary<string, byte[]>? Bytes;
        public bool ComputeMatchesMasters;

        public void OnRunStarted(TrainingContext context)
        {
            Bytes = context.Model.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value.detach().contiguous().bytes.ToArray());
            var masters = context.Model.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
            ComputeMatchesMasters = context.Model.Lora!.StateTensors().All(kv =>
                kv.Value.dtype == ScalarType.BFloat16 && kv.Value.eq(masters[kv.Key].to(ScalarType.BFloat16)).all().item<bool>());
        }
    }

    /// <summary>Starts the run at a loss scale float16 cannot hold, and records the scale after every step.</summary>
    private sealed class ScaleProbe(double initialScale) : ITrainingHook
    {
        public List<double> Scales { get; } = new();
        public List<StepReport> Reports { get; } = new();

        public void OnRunStarted(TrainingContext context) =>
            context.Model.Precision!.Scaler!.Restore(new KohyaPS.Engine.Precision.LossScalerState { Scale = initialScale }, "test");

        public void OnStepEnded(TrainingContext context, StepReport report)
        {
            Scales.Add(context.Model.Precision!.Scaler!.Scale);
            Reports.Add(report);
        }
    }
}
