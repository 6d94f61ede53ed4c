using KohyaPS.Contracts;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Precision;

/// <summary>
/// Resources.GradientCheckpointing recomputes the UNet's blocks in backward; it must not change a single bit of the
/// gradients (so it is classified Cosmetic: toggling it on resume keeps the run exact).
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class GradientCheckpointingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-checkpointing-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string, bool, double> Models => new()
    {
        { "none", false, 0 },   // full fine-tune of the UNet, frozen text encoder
        { "none", true, 0 },    // full fine-tune of UNet and text encoder: the text states need gradients too
        { "lora", true, 0.3 },  // LoRA on UNet and text encoder with dropout: the recomputation must replay the masks
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void GradientsAreBitwiseEqualWithAndWithoutCheckpointing(string network, bool trainTextEncoder, double dropout)
    {
        var hp = TrainingTestSupport.Tiny(1, tweak: h =>
        {
            h.Model.TrainTextEncoder = trainTextEncoder;
            h.Network.Type = network;
            h.Network.Dim = 2;
            h.Network.Dropout = dropout;
        });
        var captions = new[] { "a red box", "a blue ellipse on white" };
        var tokenizer = WordTokenizer.FromCaptions(captions, hp.Model.MaxTokens);
        using var model = TrainingModel.Create(hp.Model, tokenizer, 3, CPU, hp.Network);

        var plain = Gradients(model, captions, checkpointing: false);
        var checkpointed = Gradients(model, captions, checkpointing: true);

        Assert.Equal(model.TrainableParameters.Count, plain.Count);
        Assert.Equal(plain.Keys, checkpointed.Keys);
        Assert.Contains(plain.Values, g => g.Any(b => b != 0));
        Assert.All(plain, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(checkpointed[kv.Key]), $"{kv.Key} differs {Diff(kv.Value, checkpointed[kv.Key])}"));
    }

    private static string Diff(byte[] a, byte[] b)
    {
        var x = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(a).ToArray();
        var y = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b).ToArray();
        double d = x.Zip(y).Max(p => Math.Abs(p.First - p.Second));
        double m = x.Max(v => Math.Abs(v));
        return $"maxdiff {d:G3} of max {m:G3}";
    }

    [Fact]
    public void DropoutDrawsDifferOnADifferentSeedSoTheReplayIsReal()
    {
        // Guard for the LoRA case above: with dropout, another generator state gives other gradients.
        var hp = TrainingTestSupport.Tiny(1, tweak: h => { h.Network.Type = "lora"; h.Network.Dim = 2; h.Network.Dropout = 0.3; });
        var captions = new[] { "a red box", "a blue ellipse on white" };
        var tokenizer = WordTokenizer.FromCaptions(captions, hp.Model.MaxTokens);
        using var model = TrainingModel.Create(hp.Model, tokenizer, 3, CPU, hp.Network);
        // Give lora_up non-zero weights so lora_down receives gradients through the dropout.
        using (torch.no_grad())
            foreach (var (_, m) in model.Lora!.Modules) m.UpWeight.normal_(0, 0.1);
        var a = Gradients(model, captions, checkpointing: true, dropoutSeed: 1);
        var b = Gradients(model, captions, checkpointing: true, dropoutSeed: 2);
        var c = Gradients(model, captions, checkpointing: false, dropoutSeed: 1);
        Assert.Contains(a, kv => !kv.Value.AsSpan().SequenceEqual(b[kv.Key]));
        Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(c[kv.Key]), $"{kv.Key} differs"));
    }

    [Theory]
    [InlineData("none", "float32")]
    [InlineData("lora", "bfloat16")]
    public void ShortRunTrainsTheSameWeightsWithCheckpointing(string network, string dtype)
    {
        string data = TrainingTestSupport.DemoDataset(_root);
        KohyaHyperparameterSet Config(bool checkpointing) => TrainingTestSupport.Tiny(3, saveEvery: 3, tweak: h =>
        {
            h.Network.Type = network;
            h.Network.Dim = 2;
            h.Network.Dropout = network == "lora" ? 0.2 : 0;
            h.Resources.Dtype = dtype;
            h.Resources.GradientCheckpointing = checkpointing;
        });
        KohyaTrainingResult Run(string name, bool checkpointing) => TrainingRunner.Run(
            new TrainingRequest { Hyperparameters = Config(checkpointing), DatasetPath = data, OutputPath = Path.Combine(_root, name) },
            NullTrainingObserver.Instance, CancellationToken.None);

        var plain = Run("plain", false);
        var checkpointed = Run("checkpointed", true);
        var a = TrainingTestSupport.TensorBytes(Path.Combine(plain.LatestCheckpoint!, "model.safetensors"));
        var b = TrainingTestSupport.TensorBytes(Path.Combine(checkpointed.LatestCheckpoint!, "model.safetensors"));
        Assert.Equal(a.Keys, b.Keys);
        Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(b[kv.Key]), $"{kv.Key} differs"));
        Assert.Equal(plain.FinalLoss, checkpointed.FinalLoss);
    }

    [Fact]
    public void SwitchingCheckpointingOnWhenResumingKeepsTheRunBitwise()
    {
        // Cosmetic: a resume may turn it on (to fit a smaller GPU) without any change of trajectory.
        string data = TrainingTestSupport.DemoDataset(_root);
        var hp = TrainingTestSupport.Tiny(4, saveEvery: 2);
        KohyaTrainingResult Run(string name, params ITrainingHook[] hooks) => TrainingRunner.Run(
            new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = Path.Combine(_root, name), ExtraHooks = hooks },
            NullTrainingObserver.Instance, CancellationToken.None);
        var straight = Run("straight");
        Run("split", new StopAtStep(2));
        var resumed = TrainingRunner.Resume(new ResumeRequest
        {
            RunPath = Path.Combine(_root, "split"),
            Overrides = new System.Collections.Hashtable { ["Resources.GradientCheckpointing"] = true },
        }, NullTrainingObserver.Instance, CancellationToken.None);

        Assert.Equal(4, resumed.FinalStep);
        var state = KohyaPS.Engine.Checkpoints.CheckpointState.Parse(File.ReadAllText(Path.Combine(resumed.LatestCheckpoint!, "state.json")), "state.json");
        Assert.Contains(state.Segments[^1].Overrides, o => o.Contains("GradientCheckpointing", StringComparison.Ordinal));
        var a = TrainingTestSupport.TensorBytes(Path.Combine(straight.LatestCheckpoint!, "model.safetensors"));
        var b = TrainingTestSupport.TensorBytes(Path.Combine(resumed.LatestCheckpoint!, "model.safetensors"));
        Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(b[kv.Key]), $"{kv.Key} differs"));
    }

    private static Dictionary<string, byte[]> Gradients(TrainingModel model, IReadOnlyList<string> captions, bool checkpointing, long dropoutSeed = 11)
    {
        model.UNet.GradientCheckpointing = checkpointing;
        foreach (var (_, p) in model.TrainableParameters) p.grad = null!;
        using (NewDisposeScope())
        {
            var gen = new Generator(5);
            var noisy = randn(new long[] { 2, 3, 16, 16 }, generator: gen);
            var target = randn(new long[] { 2, 3, 16, 16 }, generator: gen);
            torch.manual_seed(dropoutSeed);
            var prediction = model.Predict(noisy, tensor(new long[] { 10, 600 }), captions);
            nn.functional.mse_loss(prediction, target).backward();
        }
        return model.TrainableParameters.Where(p => p.Param.grad is not null)
            .ToDictionary(p => p.Name, p => p.Param.grad!.contiguous().bytes.ToArray());
    }
}
