using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Networks;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Network;

/// <summary>The LoRA adapters themselves on the tiny model: where they go, how they start, what they train.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class LoraNetworkTests
{
    private static readonly string[] Captions = ["a red circle", "a blue square", "a green triangle"];

    private static ModelSection Tiny(bool textEncoder = true) => new() { Preset = "tiny", MaxTokens = 8, TrainTextEncoder = textEncoder };

    private static NetworkSection Lora(int dim = 4, double alpha = 1, double dropout = 0, params string[] targets) =>
        new() { Type = "lora", Dim = dim, Alpha = alpha, Dropout = dropout, TargetModules = targets };

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static TrainingModel Build(NetworkSection? network, bool textEncoder = true, long seed = 11) =>
        TrainingModel.Create(Tiny(textEncoder), WordTokenizer.FromCaptions(Captions, 8), seed, CPU, network);

    /// <summary>Base layer paths a target group covers, found independently by the layer's type and name.</summary>
    private static List<string> Layers(TrainingModel model, Func<string, nn.Module, bool> pick) =>
        model.UNet.named_modules().Where(m => pick(m.name, m.module)).Select(m => "unet." + m.name)
            .Concat(model.TextEncoder.named_modules().Where(m => pick(m.name, m.module)).Select(m => "text_encoder.text_model." + m.name))
            .ToList();

    [Fact]
    public void StandardSetPutsAdaptersOnEveryTransformerLinearAndTheTextEncoderAndNowhereElse()
    {
        using var model = Build(Lora());
        var names = model.Lora!.ModuleNames;
        string[] unetEnds = [".to_q", ".to_k", ".to_v", ".to_out.0", ".ff.net.0.proj", ".ff.net.2", ".proj_in", ".proj_out"];
        string[] textEnds = [".q_proj", ".k_proj", ".v_proj", ".out_proj", ".fc1", ".fc2"];
        var expected = Layers(model, (name, module) =>
            module is TorchSharp.Modules.Linear or TorchSharp.Modules.Conv2d
            && (unetEnds.Any(e => ("." + name).EndsWith(e, StringComparison.Ordinal)) && name.Contains("attentions.", StringComparison.Ordinal)
                || textEnds.Any(e => ("." + name).EndsWith(e, StringComparison.Ordinal)) && name.StartsWith("encoder.layers.", StringComparison.Ordinal)));
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
        Assert.Contains("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", names);
        Assert.Contains("unet.mid_block.attentions.0.proj_in", names);
        Assert.Contains("text_encoder.text_model.encoder.layers.0.self_attn.q_proj", names);
        Assert.Contains("text_encoder.text_model.encoder.layers.0.mlp.fc1", names);
        Assert.DoesNotContain(names, n => n.Contains("resnets", StringComparison.Ordinal) || n.Contains("time_emb", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("attention", new[] { ".to_q", ".to_k", ".to_v", ".to_out.0" })]
    [InlineData("feedforward", new[] { ".ff.net.0.proj", ".ff.net.2" })]
    [InlineData("projection", new[] { ".proj_in", ".proj_out" })]
    [InlineData("text_mlp", new[] { ".mlp.fc1", ".mlp.fc2" })]
    [InlineData("conv", new[] { ".conv1", ".conv2", ".conv_shortcut", "samplers.0.conv" })]
    public void EachTargetCoversExactlyItsLayers(string target, string[] ends)
    {
        using var model = Build(Lora(targets: target));
        var names = model.Lora!.ModuleNames;
        var expected = Layers(model, (name, module) =>
            module is TorchSharp.Modules.Linear or TorchSharp.Modules.Conv2d && ends.Any(e => ("." + name).EndsWith(e, StringComparison.Ordinal))
            && (target != "conv" || name.Contains("resnets.", StringComparison.Ordinal) || name.Contains("samplers.", StringComparison.Ordinal)));
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
        if (target == "conv")
        {
            // A 3x3 convolution gets a 3x3 down (same stride/padding) and a 1x1 up.
            var conv = model.Lora.Modules.First(m => m.Name.EndsWith(".conv1", StringComparison.Ordinal)).Module;
            Assert.Equal(4, conv.DownWeight.dim());
            Assert.Equal(new long[] { 3, 3 }, conv.DownWeight.shape[2..]);
            Assert.Equal(new long[] { 1, 1 }, conv.UpWeight.shape[2..]);
        }
    }

    [Fact]
    public void TextEncoderGetsNoAdaptersWhenItIsNotTrained()
    {
        using var model = Build(Lora(), textEncoder: false);
        Assert.NotEmpty(model.Lora!.ModuleNames);
        Assert.All(model.Lora.ModuleNames, n => Assert.StartsWith("unet.", n));
        Assert.All(model.TextEncoder.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void BaseIsFrozenAndOnlyAdaptersAreTrainableAndSaved()
    {
        using var model = Build(Lora(dim: 2, alpha: 0));
        Assert.All(model.UNet.parameters().Concat(model.TextEncoder.parameters()), p => Assert.False(p.requires_grad));
        Assert.All(model.TrainableParameters, p => Assert.True(p.Param.requires_grad));
        Assert.Equal(model.Lora!.ModuleNames.Count * 2, model.TrainableParameters.Count);
        var state = model.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(model.Lora.ModuleNames.Count * 3, state.Count);
        string q = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q";
        var baseQ = model.BaseStateTensors().Single(kv => kv.Key == q + ".weight").Value;
        Assert.Equal(new[] { 2L, baseQ.shape[1] }, state[q + ".lora_down.weight"].shape);
        Assert.Equal(new[] { baseQ.shape[0], 2L }, state[q + ".lora_up.weight"].shape);
        Assert.Empty(state[q + ".alpha"].shape);
        Assert.Equal(2f, state[q + ".alpha"].item<float>()); // Alpha 0 means Alpha = Dim
        Assert.All(state.Where(kv => kv.Key.EndsWith(".lora_up.weight", StringComparison.Ordinal)), kv => Assert.Equal(0, kv.Value.count_nonzero().item<long>()));
        Assert.All(state.Where(kv => kv.Key.EndsWith(".lora_down.weight", StringComparison.Ordinal)), kv => Assert.True(kv.Value.abs().sum().item<float>() > 0));
        Assert.Equal(64, model.BaseHash!.Length);
    }

    [Fact]
    public void AtInitialisationTheAdaptedModelComputesExactlyWhatTheBaseDoes()
    {
        using var plain = Build(null);
        using var adapted = Build(Lora(dim: 4, alpha: 8, targets: ["Transformer2DModel", "conv", "text_attention", "text_mlp"]));
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        var x = torch.randn(2, 3, 16, 16);
        var t = torch.tensor(new long[] { 10, 500 });
        plain.UNet.eval(); plain.TextEncoder.eval(); adapted.UNet.eval(); adapted.TextEncoder.eval();
        using var noGrad = torch.no_grad();
        var a = plain.Predict(x, t, ["a red circle", "a blue square"]);
        var b = adapted.Predict(x, t, ["a red circle", "a blue square"]);
        Assert.True(Same(a, b), "lora_up = 0 must leave the output bit for bit as it was");

        // …and the adapters are really in the path: a non-zero up changes the output.
        foreach (var (_, module) in adapted.Lora!.Modules) module.UpWeight.fill_(0.01);
        var c = adapted.Predict(x, t, ["a red circle", "a blue square"]);
        Assert.False(Same(a, c));
    }

    [Fact]
    public void AdapterAddsUpDownTimesAlphaOverRank()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        var linear = nn.Linear(6, 5, hasBias: true);
        using var adapter = new LoraModule(linear, rank: 3, alpha: 1.5, dropout: 0);
        adapter.AttachTo(linear);
        using var noGrad = torch.no_grad();
        adapter.UpWeight.copy_(torch.randn(5, 3));
        var x = torch.randn(4, 6);
        var expected = nn.functional.linear(x, linear.weight!, linear.bias) + x.matmul(adapter.DownWeight.t()).matmul(adapter.UpWeight.t()) * (1.5 / 3);
        Assert.True(linear.call(x).allclose(expected, rtol: 1e-5, atol: 1e-6));
        adapter.Dispose();
        Assert.True(Same(linear.call(x), nn.functional.linear(x, linear.weight!, linear.bias)), "disposing the adapter detaches it");
    }

    [Fact]
    public void DropoutDependsOnlyOnTheSeedAndIsOffInEval()
    {
        using var scope = NewDisposeScope();
        var linear = nn.Linear(8, 8, hasBias: false);
        using var adapter = new LoraModule(linear, rank: 8, alpha: 8, dropout: 0.5);
        using (torch.no_grad()) adapter.UpWeight.fill_(1.0); // lora_up starts at 0, which would hide the mask
        var x = torch.ones(2, 8);
        Tensor Run(long seed) { torch.manual_seed(seed); return adapter.forward(x); }
        var a = Run(42);
        var b = Run(42);
        var c = Run(43);
        Assert.True(Same(a, b));
        Assert.False(Same(a, c));
        adapter.eval();
        Assert.True(Same(adapter.forward(x), adapter.forward(x)));
        using var noDrop = new LoraModule(linear, rank: 8, alpha: 8, dropout: 0);
        noDrop.DownWeight.detach().copy_(adapter.DownWeight.detach());
        noDrop.UpWeight.detach().copy_(adapter.UpWeight.detach());
        Assert.True(Same(adapter.forward(x), noDrop.forward(x)));
    }

    [Theory]
    [InlineData("Network.Dim", 0)]
    [InlineData("Network.Dim", 2000)]
    [InlineData("Network.Dropout", 1.0)]
    [InlineData("Network.TargetModules", "attn_everything")]
    public void BadSettingsAreRefusedWithTheOptionNamed(string option, object value)
    {
        var hp = new KohyaHyperparameterSet();
        hp.Network.Type = "lora";
        switch (option)
        {
            case "Network.Dim": hp.Network.Dim = (int)value; break;
            case "Network.Dropout": hp.Network.Dropout = (double)value; break;
            default: hp.Network.TargetModules = [(string)value]; break;
        }
        var ex = Assert.Throws<KohyaException>(() => HyperparameterValidator.Validate(hp));
        Assert.Equal("InvalidHyperparameter", ex.ErrorId);
        Assert.Equal(option, ex.Target);
        var fromModel = Assert.Throws<KohyaException>(() => Build(hp.Network));
        Assert.Equal("InvalidHyperparameter", fromModel.ErrorId);
        Assert.Contains(option, fromModel.Message);
    }

    [Fact]
    public void TextTargetsWithoutTrainingTheTextEncoderAreRefused()
    {
        var hp = new KohyaHyperparameterSet();
        hp.Network.Type = "lora";
        hp.Model.TrainTextEncoder = false;
        hp.Network.TargetModules = ["attention", "CLIPAttention"];
        var ex = Assert.Throws<KohyaException>(() => HyperparameterValidator.Validate(hp));
        Assert.Contains("Model.TrainTextEncoder", ex.Message);
    }
}
