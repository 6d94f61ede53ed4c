using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Precision;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace KohyaPS.Tests.Precision;

/// <summary>The float16 dynamic loss scale: back-off on overflow, growth after good steps, and its checkpoint state.</summary>
public sealed class LossScalerTests
{
    [Fact]
    public void OverflowHalvesTheScaleAndRestartsTheCount()
    {
        var scaler = new DynamicLossScaler(1024, growthInterval: 3);
        scaler.Update(false);
        scaler.Update(false);
        scaler.Update(true);
        Assert.Equal(512, scaler.Scale);
        Assert.Equal(0, scaler.GoodSteps);
        Assert.Equal(1, scaler.Overflows);
    }

    [Fact]
    public void ScaleDoublesAfterGrowthIntervalGoodSteps()
    {
        var scaler = new DynamicLossScaler(1024, growthInterval: 3);
        scaler.Update(false);
        scaler.Update(false);
        Assert.Equal(1024, scaler.Scale);
        scaler.Update(false);
        Assert.Equal(2048, scaler.Scale);
        Assert.Equal(0, scaler.GoodSteps);
    }

    [Fact]
    public void AtTheMinimumScaleAnOverflowIsNoLongerTheScalesFault()
    {
        var scaler = new DynamicLossScaler(2, growthInterval: 10);
        Assert.True(scaler.CanBackOff);
        scaler.Update(true);
        Assert.Equal(DynamicLossScaler.MinimumScale, scaler.Scale);
        Assert.False(scaler.CanBackOff);
    }

    [Theory]
    [InlineData(0.5, 10, 0.5, 2)]
    [InlineData(1024, 0, 0.5, 2)]
    [InlineData(1024, 10, 1, 2)]
    [InlineData(1024, 10, 0.5, 1)]
    public void BadSettingsAreRefused(double scale, int interval, double backoff, double growth) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DynamicLossScaler(scale, interval, backoff, growth));

    [Fact]
    public void StateRoundTripsThroughStateJson()
    {
        var scaler = new DynamicLossScaler(4096, growthInterval: 5);
        scaler.Update(true);
        scaler.Update(false);
        scaler.Update(false);
        var state = new CheckpointState { RunId = "r", CheckpointId = "c", LossScaler = scaler.Export() };
        var parsed = CheckpointState.Parse(state.ToJson(), "state.json");

        var restored = new DynamicLossScaler(growthInterval: 5);
        restored.Restore(parsed.LossScaler!, "state.json");
        Assert.Equal((2048.0, 2), (restored.Scale, restored.GoodSteps));
        for (int i = 0; i < 3; i++) { scaler.Update(false); restored.Update(false); }
        Assert.Equal(scaler.Scale, restored.Scale); // grows at the same step as the uninterrupted scaler
        Assert.Equal(4096, restored.Scale);
    }

    [Fact]
    public void ImpossibleSavedStateIsRefused()
    {
        var scaler = new DynamicLossScaler(growthInterval: 5);
        var ex = Assert.Throws<KohyaException>(() => scaler.Restore(new LossScalerState { Scale = 8, GoodSteps = 7 }, "state.json"));
        Assert.Equal("CheckpointStateInvalid", ex.ErrorId);
        ex = Assert.Throws<KohyaException>(() => scaler.Restore(new LossScalerState { Scale = double.PositiveInfinity }, "state.json"));
        Assert.Equal("CheckpointStateInvalid", ex.ErrorId);
    }

    [Fact]
    public void Float16BackwardUnscalesIntoFloat32MastersAndDetectsOverflow()
    {
        KohyaPS.Engine.Native.TorchRuntime.EnsureLoaded();
        using var layer = nn.Linear(4, 3);
        using var precision = Float16Precision(layer, scale: 1024);
        Assert.All(layer.parameters(), p => Assert.Equal(ScalarType.Float16, p.dtype));
        Assert.All(precision.Masters, m => Assert.Equal(ScalarType.Float32, m.Param.dtype));

        using (NewDisposeScope())
        {
            var x = torch.ones(2, 4, dtype: ScalarType.Float16);
            var loss = layer.forward(x).to_type(ScalarType.Float32).sum();
            MixedPrecision.Backward(precision, loss);
            // d(sum)/d(bias) = batch size, exactly, after unscaling the 1024× scaled float16 gradient.
            var biasGrad = precision.Masters.Single(m => m.Name == "bias").Param.grad!;
            Assert.Equal(ScalarType.Float32, biasGrad.dtype);
            Assert.All(biasGrad.data<float>().ToArray(), g => Assert.Equal(2f, g));
            Assert.All(layer.parameters(), p => Assert.Null(p.grad)); // the float16 gradients are freed
        }
        Assert.False(precision.IsOverflow(1.0, 3.0));
        Assert.True(precision.IsOverflow(1.0, double.PositiveInfinity));
        Assert.False(precision.IsOverflow(double.NaN, double.NaN)); // a non-finite loss is a blow-up, not an overflow
        precision.EndStep(updated: false, overflowed: true);
        Assert.Equal(512, precision.Scaler!.Scale);

        // A real overflow: a scale so large that float16 gradients become infinite.
        using var hugePrecision = Float16Precision(layer, scale: 1e30);
        using (NewDisposeScope())
        {
            var loss = layer.forward(torch.full(2, 4, 100f, dtype: ScalarType.Float16)).to_type(ScalarType.Float32).sum();
            MixedPrecision.Backward(hugePrecision, loss);
        }
        double norm = KohyaPS.Engine.Optim.GradientClipping.ClipByTotalNorm(hugePrecision.Masters.Select(m => m.Param), 1.0);
        Assert.False(double.IsFinite(norm));
        Assert.True(hugePrecision.IsOverflow(1.0, norm));
    }

    private static MixedPrecision Float16Precision(nn.Module layer, double scale)
    {
        var trainable = layer.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        var weights = MasterWeights.Create(trainable, layer.state_dict(), () => layer.to(ScalarType.Float16),
            () => layer.named_parameters().Select(p => (p.name, p.parameter)), () => layer.state_dict());
        return MixedPrecision.Create(ScalarType.Float16, weights, new DynamicLossScaler(scale, growthInterval: 2));
    }
}
