using KohyaPS.Engine;
using KohyaPS.Engine.Optim;
using TorchSharp;
using static KohyaPS.Tests.Optim.OptimTestKit;

namespace KohyaPS.Tests.Optim;

public sealed class OptimizerSettingsTests
{
    public OptimizerSettingsTests() => EnsureTorch();

    public static TheoryData<OptimizerSettings, string> BadSettings() => new()
    {
        { new OptimizerSettings { Type = "AdaFactor" }, "Type" },
        { new OptimizerSettings { Type = "AdamW", Betas = (1.0, 0.999) }, "Betas" },
        { new OptimizerSettings { Type = "Lion", Betas = (0.9, -0.1) }, "Betas" },
        { new OptimizerSettings { Type = "SGD", Betas = (0.9, 0.999) }, "Betas" },
        { new OptimizerSettings { Type = "Adam", Eps = double.NaN }, "Eps" },
        { new OptimizerSettings { Type = "AdamW", WeightDecay = -0.01 }, "WeightDecay" },
        { new OptimizerSettings { Type = "AdamW", Momentum = 0.9 }, "Momentum" },
        { new OptimizerSettings { Type = "Lion", Nesterov = true }, "Nesterov" },
        { new OptimizerSettings { Type = "SGD", Momentum = -0.5 }, "Momentum" },
        { new OptimizerSettings { Type = "SGD", Momentum = 0.9, Dampening = 1.5 }, "Dampening" },
        { new OptimizerSettings { Type = "SGD", Nesterov = true }, "Nesterov" },
        { new OptimizerSettings { Type = "SGD", Momentum = 0.9, Dampening = 0.1, Nesterov = true }, "Nesterov" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void ValidationNamesTheBadOption(OptimizerSettings settings, string option)
    {
        var ex = Assert.Throws<KohyaException>(settings.Validate);
        Assert.Equal("InvalidOptimizerSettings", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal(option, ex.Target);
        Assert.Contains($"'{option}'", ex.Message);
    }

    [Fact]
    public void FactoryAppliesPerTypeDefaultsCaseInsensitively()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(["AdamW", "Adam", "SGD", "Lion"], OptimizerFactory.Names);

        using var adamw = OptimizerFactory.Create(new OptimizerSettings { Type = "adamw" }, TwoParameters());
        Assert.IsType<AdamW>(adamw);
        Assert.Equal("AdamW", adamw.Kind);
        using (var s = adamw.ExportState())
        {
            Assert.Equal("0.01", s.Values["weight_decay"]);
            Assert.Equal("0.9", s.Values["beta1"]);
            Assert.Equal("0.999", s.Values["beta2"]);
            Assert.Equal("1E-08", s.Values["eps"]);
        }

        using var lion = OptimizerFactory.Create(new OptimizerSettings { Type = " lion " }, TwoParameters());
        Assert.IsType<Lion>(lion);
        Assert.Equal((0.9, 0.99), lion.Settings.EffectiveBetas);
        Assert.Equal(["exp_avg"], lion.SlotNames);
        using (var s = lion.ExportState())
        {
            Assert.Equal("0.99", s.Values["beta2"]);
            Assert.Equal("0", s.Values["weight_decay"]);
        }

        using var adam = OptimizerFactory.Create(new OptimizerSettings { Type = "ADAM" }, TwoParameters());
        Assert.Equal(0.0, adam.Settings.EffectiveWeightDecay);
        using var sgd = OptimizerFactory.Create(new OptimizerSettings { Type = "sgd", Momentum = 0.9 }, TwoParameters());
        Assert.Equal("SGD", sgd.Kind);
        Assert.Equal(["momentum_buffer"], sgd.SlotNames);
    }

    [Fact]
    public void FactoryValidatesBeforeCreating()
    {
        var ex = Assert.Throws<KohyaException>(() => OptimizerFactory.Create(new OptimizerSettings { Type = "RMSprop" }, TwoParameters()));
        Assert.Equal("InvalidOptimizerSettings", ex.ErrorId);
        Assert.Contains("AdamW, Adam, SGD, Lion", ex.Message);
    }

    [Fact]
    public void DuplicateParameterNamesAreRefused()
    {
        using var scope = torch.NewDisposeScope();
        var ps = TwoParameters();
        ps.Add(("w", ps[1].Param));
        Assert.Throws<ArgumentException>(() => new AdamW(ps));
    }
}
