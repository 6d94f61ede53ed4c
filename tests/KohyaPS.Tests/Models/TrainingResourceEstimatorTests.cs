using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;
using KohyaPS.Engine.Resources;

namespace KohyaPS.Tests.Models;

public sealed class TrainingResourceEstimatorTests
{
    private static KohyaTrainingResourceEstimate Estimate(KohyaHyperparameterSet set, int? batch = null, string? dtype = null,
        bool checkpointing = false, long? memory = null) =>
        TrainingResourceEstimator.Estimate(new TrainingResourceRequest(set)
        {
            BatchSize = batch, Dtype = dtype, GradientCheckpointing = checkpointing, DeviceMemoryBytes = memory,
        });

    [Fact]
    public void LoraRankCountsFollowKohyasModuleSet()
    {
        // Per SD1.5 transformer of c channels (text width 768): proj_in, proj_out 2c each; attn1 q,k,v,out 2c each;
        // attn2 q,out 2c, k,v 768+c; ff.net.0.proj c→8c; ff.net.2 4c→c: 32c + 1536 features per rank.
        // 5 transformers at 320, 5 at 640, 5 at 1280 and the mid block's at 1280.
        long unet = 5 * (32 * 320 + 1536) + 5 * (32 * 640 + 1536) + 6 * (32 * 1280 + 1536);
        Assert.Equal(423_936, unet);
        var network = new NetworkSection { Type = "lora", Dim = 4 };
        Assert.Equal((4 * unet, 0L), LoraParameterCounter.Count(UNetConfig.Sd15, TextEncoderConfig.ClipVitL14, network, trainTextEncoder: false));
        // Per CLIP layer: q,k,v,out 768+768 each, fc1 768+3072, fc2 3072+768.
        network.Dim = 8;
        Assert.Equal(12 * (4 * 1536 + 2 * 3840) * 8L, LoraParameterCounter.Count(UNetConfig.Sd15, TextEncoderConfig.ClipVitL14, network, true).TextEncoder);
    }

    [Fact]
    public void TinySdCountsItsOwnVaeAndByteLevelTextEncoder()
    {
        var set = HyperparameterPresets.Create("tiny-sd");
        var e = Estimate(set);
        Assert.Equal(VaeConfig.Tiny.CountParameters().Parameters, e.VaeParameters);
        Assert.Equal(UNetConfig.TinySd.CountParameters().Parameters, e.UNetParameters);
        // The seeded model reads CLIP's byte-level alphabet (514 ids) with 77 positions, as training builds it.
        var hp = set.Clone();
        using var model = KohyaPS.Engine.Training.TrainingModel.CreateLayout(hp.Model, 514, hp.Model.MaxTokens);
        Assert.Equal(model.TextEncoder.parameters().Sum(p => p.numel()), e.TextEncoderParameters);
        // Image sides divide by the tiny VAE's 2 and the UNet's 2.
        set.Data.Resolution = 18;
        Assert.Equal("InvalidResourceRequest", Assert.Throws<KohyaException>(() => Estimate(set)).ErrorId);
    }

    [Fact]
    public void BytesFollowDtypeOptimizerAndNetwork()
    {
        var set = HyperparameterPresets.Create("sd15");
        var fp32 = Estimate(set);
        var bf16 = Estimate(set, dtype: "bfloat16");
        long trainable = fp32.TrainableParameters;
        Assert.Equal(fp32.UNetParameters + fp32.TextEncoderParameters, trainable);
        Assert.Equal(fp32.VaeParameters * 4 + trainable * (2 + 4), bf16.WeightBytes); // the VAE stays fp32; bf16 copy + fp32 master
        Assert.Equal(fp32.ActivationBytes / 2, bf16.ActivationBytes);

        var tiny = HyperparameterPresets.Create("tiny");
        var adamW = Estimate(tiny);
        Assert.Equal(8 * adamW.TrainableParameters, adamW.OptimizerStateBytes);
        tiny.Optimizer.Type = "SGD";
        Assert.Equal(0, Estimate(tiny).OptimizerStateBytes);
        tiny.Optimizer.Momentum = 0.9;
        Assert.Equal(4 * adamW.TrainableParameters, Estimate(tiny).OptimizerStateBytes);

        tiny.Model.TrainTextEncoder = false;
        var frozenText = Estimate(tiny);
        Assert.Equal(frozenText.UNetParameters, frozenText.TrainableParameters);
        Assert.True(frozenText.ActivationBytes < adamW.ActivationBytes);
    }

    [Fact]
    public void ActivationsScaleWithBatchAndResolutionAndShrinkWithCheckpointing()
    {
        var set = HyperparameterPresets.Create("tiny");
        var one = Estimate(set, batch: 1);
        Assert.Equal(3 * one.ActivationBytes, Estimate(set, batch: 3).ActivationBytes);
        // SD1.5 at 512 px trains on 64×64 latents; 256 px on 32×32. A quarter of the positions: everything linear
        // in n shrinks 4×, the self-attention scores (n²) 16×.
        long full = ActivationEstimator.UNetElements(UNetConfig.Sd15, 64, 77, gradientCheckpointing: false);
        long quarter = ActivationEstimator.UNetElements(UNetConfig.Sd15, 32, 77, gradientCheckpointing: false);
        Assert.InRange((double)full / quarter, 4.0, 16.0);
        long checkpointed = ActivationEstimator.UNetElements(UNetConfig.Sd15, 64, 77, gradientCheckpointing: true);
        Assert.True(checkpointed < full / 4, $"{checkpointed} vs {full}");
        // The largest block is the 320-channel transformer at 64×64: its 8 heads' 4096² scores and probabilities alone.
        Assert.True(checkpointed > 2L * 8 * 4096 * 4096);
        Assert.True(ActivationEstimator.TextEncoderElements(TextEncoderConfig.ClipVitL14, true)
                    < ActivationEstimator.TextEncoderElements(TextEncoderConfig.ClipVitL14, false));
    }

    [Fact]
    public void FitsComparesTheTotalWithTheGivenMemory()
    {
        var set = HyperparameterPresets.Create("tiny");
        var e = Estimate(set);
        Assert.Null(e.Fits);
        Assert.True(Estimate(set, memory: e.TotalBytes).Fits);
        Assert.False(Estimate(set, memory: e.TotalBytes - 1).Fits);
        Assert.Equal(0, e.VaeParameters);
        Assert.Equal(e.UNetParameters * 4 + e.TextEncoderParameters * 4 + e.OptimizerStateBytes, e.CheckpointBytes);
    }

    [Theory]
    [InlineData("sd15", 500, "float32", "Resolution")]
    [InlineData("sd15", 512, "int8", "Dtype")]
    [InlineData("tiny", 15, "float32", "Resolution")]
    public void BadRequestsNameTheSetting(string preset, int resolution, string dtype, string target)
    {
        var set = HyperparameterPresets.Create(preset);
        var ex = Assert.Throws<KohyaException>(() => TrainingResourceEstimator.Estimate(new TrainingResourceRequest(set) { Resolution = resolution, Dtype = dtype }));
        Assert.Equal("InvalidResourceRequest", ex.ErrorId);
        Assert.Equal(target, ex.Target);
    }

    [Fact]
    public void CpuTrainingHasNoDeviceMemoryFigure()
    {
        var set = HyperparameterPresets.Create("tiny");
        Assert.Null(TrainingResourceEstimator.DeviceMemoryFor(set));
        set.Resources.Device = "cuda:0";
        Assert.Null(TrainingResourceEstimator.DeviceMemoryFor(set)); // no NVIDIA driver on this machine
    }

    [Theory]
    [InlineData(new string[0], true)]
    [InlineData(new[] { "attention" }, false)]
    [InlineData(new[] { "conv", "text_mlp" }, true)]
    [InlineData(new[] { "Transformer2DModel", "CLIPAttention" }, true)]
    public void LoraCountIsTheTrainedNetworksParameterCount(string[] targets, bool trainTextEncoder)
    {
        // The estimate counts the target set actually requested, exactly as many parameters as training injects.
        var set = HyperparameterPresets.Create("tiny");
        set.Model.TrainTextEncoder = trainTextEncoder;
        set.Network.Type = "lora";
        set.Network.Dim = 3;
        set.Network.TargetModules = targets;
        var tokenizer = WordTokenizer.FromCaptions(new[] { "a red box" }, set.Model.MaxTokens);
        using var model = KohyaPS.Engine.Training.TrainingModel.CreateLayout(set.Model, tokenizer.VocabularySize, tokenizer.MaxLength, set.Network);
        long injected = model.TrainableParameters.Sum(p => p.Param.numel());

        var estimate = Estimate(set);
        Assert.Equal(injected, estimate.TrainableParameters);
        set.Network.TargetModules = new[] { "attention" };
        if (targets.Length != 1)
            Assert.NotEqual(estimate.TrainableParameters, Estimate(set).TrainableParameters);
    }

    [Fact]
    public void DtypeAndCheckpointingComeFromTheSetUnlessOverridden()
    {
        var set = HyperparameterPresets.Create("tiny");
        var plain = Estimate(set);
        set.Resources.Dtype = "bfloat16";
        set.Resources.GradientCheckpointing = true;
        var fromSet = TrainingResourceEstimator.Estimate(new TrainingResourceRequest(set));
        Assert.Equal(("bfloat16", true), (fromSet.Dtype, fromSet.GradientCheckpointing));
        Assert.True(fromSet.ActivationBytes < plain.ActivationBytes / 2);
        var overridden = TrainingResourceEstimator.Estimate(new TrainingResourceRequest(set) { Dtype = "float32", GradientCheckpointing = false });
        Assert.Equal(plain.TotalBytes, overridden.TotalBytes);
        Assert.Equal(("float32", false), (overridden.Dtype, overridden.GradientCheckpointing));
    }

    [Fact]
    public void MixedPrecisionCountsMastersAndTheFrozenTextEncodersFloat32Copy()
    {
        var set = HyperparameterPresets.Create("tiny");
        set.Model.TrainTextEncoder = false;
        var fp32 = Estimate(set);
        var bf16 = Estimate(set, dtype: "bfloat16");
        long unet = bf16.UNetParameters, text = bf16.TextEncoderParameters;
        Assert.Equal(unet * (2 + 4) + text * (2 + 4), bf16.WeightBytes); // masters for the UNet, a float32 copy of the text encoder
        Assert.Equal(unet * (4 + 2), bf16.GradientBytes);
        Assert.Equal((unet + text) * 4, fp32.WeightBytes);
    }
}
