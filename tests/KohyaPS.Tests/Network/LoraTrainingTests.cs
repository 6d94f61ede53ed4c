using System.Security.Cryptography;
using System.Text.RegularExpressions;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Checkpoints.Verification;
using KohyaPS.Engine.Interop;
using KohyaPS.Engine.LoraExport;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Networks;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Checkpoints.Verification;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Network;

/// <summary>LoRA runs end to end on the tiny model: exact resume, what a checkpoint holds, checking, export, and starting from a kohya file.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed partial class LoraTrainingTests : IClassFixture<LoraTrainingFixture>
{
    private readonly LoraTrainingFixture _fx;

    public LoraTrainingTests(LoraTrainingFixture fixture) => _fx = fixture;

    private static string ModelFile(string checkpoint) => Path.Combine(checkpoint, CheckpointNames.ModelFile);

    private static string OptimizerFile(string checkpoint) => Path.Combine(checkpoint, CheckpointNames.OptimizerFile);

    private string Temp(string name) => Path.Combine(_fx.Runs.Root, name);

    [Fact]
    public void InterruptedAndResumedLoraRunEqualsTheUninterruptedOneBitwise()
    {
        var straight = _fx.Straight;
        var split = _fx.Split;
        Assert.Equal(straight.Steps.Select(s => (s.Step, s.Loss, s.GradNorm)), split.Steps.Select(s => (s.Step, s.Loss, s.GradNorm)));
        var a = TrainingTestSupport.TensorBytes(ModelFile(straight.FinalCheckpoint));
        var b = TrainingTestSupport.TensorBytes(ModelFile(split.FinalCheckpoint));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(b[kv.Key]), kv.Key));
        var oa = TrainingTestSupport.TensorBytes(OptimizerFile(straight.FinalCheckpoint));
        var ob = TrainingTestSupport.TensorBytes(OptimizerFile(split.FinalCheckpoint));
        Assert.Equal(oa.Keys.Order(), ob.Keys.Order());
        Assert.All(oa, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(ob[kv.Key]), kv.Key));
        Assert.Equal(2, split.FinalState.Segments.Count);
    }

    [Fact]
    public void CheckpointHoldsOnlyTheAdaptersAndNamesTheSeededBase()
    {
        string checkpoint = _fx.Straight.FinalCheckpoint;
        var state = _fx.Straight.FinalState;
        var hp = LoraTrainingFixture.Config();
        var tokenizer = new WordTokenizer(state.Tokenizer.Vocabulary, state.Tokenizer.MaxLength);
        using var initial = TrainingModel.Create(hp.Model, tokenizer, hp.Training.Seed, CPU, hp.Network);
        using var plain = TrainingModel.Create(hp.Model, tokenizer, hp.Training.Seed, CPU);
        using var file = SafetensorsFile.Open(ModelFile(checkpoint));

        int adapters = initial.Lora!.Modules.Count;
        Assert.Equal(adapters * 3, file.Entries.Count);
        Assert.All(file.Entries, e => Assert.Matches(@"^(unet|text_encoder\.text_model)\..+\.(lora_down\.weight|lora_up\.weight|alpha)$", e.Name));
        Assert.Contains(file.Entries, e => e.Name == "unet.down_blocks.0.resnets.0.conv1.lora_down.weight" && e.Shape.Count == 4 && e.Shape[0] == 4 && e.Shape[2] == 3 && e.Shape[3] == 3);
        Assert.Equal("networks.lora", file.Metadata["ss_network_module"]);
        Assert.Equal("4", file.Metadata["ss_network_dim"]);
        Assert.Equal("2", file.Metadata["ss_network_alpha"]);
        // The base is the model the seed initialises, and the checkpoint says so by its hash (computed here from a plain model).
        Assert.Equal(LoraBaseHash.Compute(plain.BaseStateTensors()), file.Metadata[LoraBaseHash.MetadataKey]);
        Assert.Equal(LoraBaseHash.SeedSource, file.Metadata[LoraBaseHash.SourceMetadataKey]);

        // Training moved every adapter tensor away from its initial value (up from zero), and left alpha alone.
        var start = initial.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var entry in file.Entries)
        {
            using var trained = file.ReadTensor(entry.Name);
            bool same = trained.eq(start[entry.Name]).all().item<bool>();
            Assert.True(entry.Name.EndsWith(".alpha", StringComparison.Ordinal) ? same : !same, entry.Name);
        }
    }

    [Fact]
    public void BaseWeightsStayBitwiseUnchangedWhileAdaptersTrain()
    {
        var watch = new BaseWatch();
        var hp = LoraTrainingFixture.Config(3);
        var result = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Runs.Square12, OutputPath = Temp("frozen"), ExtraHooks = [watch] },
            NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(3, result.FinalStep);
        Assert.Equal(watch.BaseBefore, watch.BaseAfter);
        Assert.NotEqual(watch.AdaptersBefore, watch.AdaptersAfter);
        Assert.Equal(watch.BaseBefore, watch.HashBefore);
    }

    [Fact]
    public void LossFallsOnTheDemoDataset()
    {
        string data = TrainingTestSupport.DemoDataset(Temp("demo-loss"), 16);
        var recorder = new StepRecorder();
        var hp = LoraTrainingFixture.Config(40, h =>
        {
            h.Network.Dropout = 0;
            h.Network.Dim = 8;
            h.Network.Alpha = 8;
            h.Optimizer.LearningRate = 2e-2;
        });
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = Temp("demo-loss/run"), ExtraHooks = [recorder] },
            NullTrainingObserver.Instance, CancellationToken.None);
        recorder.AssertLossFell(0.9);
    }

    [Fact]
    public void TestCheckpointPassesOnALoraCheckpointAndFailsWhenItIsDamaged()
    {
        var good = CheckpointVerifier.Test(_fx.Straight.FinalCheckpoint, deep: true);
        Assert.True(good.IsValid, string.Join("\n", good.Checks.Select(c => $"{c.Name} {c.Status} {c.Message}")));
        Assert.Contains(good.Checks, c => c.Name == StructureChecks.ModelCheck && c.Status == KohyaCheckStatus.Pass && c.Message.Contains("LoRA", StringComparison.Ordinal));
        Assert.Contains(good.Checks, c => c.Name == StructureChecks.OptimizerCheck && c.Status == KohyaCheckStatus.Pass);
        Assert.StartsWith("lora, ", good.Properties["Network"]);

        // An adapter missing, its tracks covered (checksums rewritten): the structure check names it.
        string missing = CopyCheckpoint("damaged-missing");
        Damage.EditTensors(ModelFile(missing), t => t.Remove("unet.mid_block.attentions.0.proj_out.lora_up.weight"));
        Damage.Rechecksum(missing);
        var bad = CheckpointVerifier.Test(missing, deep: false);
        Assert.False(bad.IsValid);
        var check = Assert.Single(bad.Checks, c => c.Name == StructureChecks.ModelCheck);
        Assert.Equal(KohyaCheckStatus.Fail, check.Status);
        Assert.Equal("CheckpointModelMismatch", check.ErrorId);
        Assert.Contains("unet.mid_block.attentions.0.proj_out.lora_up.weight", check.Message);

        // Settings that describe another rank than the adapters hold.
        string rank = CopyCheckpoint("damaged-rank");
        Damage.EditText(Path.Combine(rank, CheckpointNames.HyperparametersFile), y => Regex.Replace(y, @"(?m)^(\s*Dim:\s*)4\s*$", "${1}8"));
        Damage.Rechecksum(rank);
        var wrong = CheckpointVerifier.Test(rank, deep: false);
        Assert.Contains(wrong.Checks, c => c.Name == StructureChecks.ModelCheck && c.Status == KohyaCheckStatus.Fail && c.Message.Contains("expected [8,", StringComparison.Ordinal));
    }

    [Fact]
    public void ExportWritesTheTrainedAdaptersAsTheyAreUnderKohyaNamesWithTheRightHash()
    {
        string checkpoint = _fx.Straight.FinalCheckpoint;
        string output = Export("straight");
        var info = KohyaPS.Engine.Interop.KohyaLoraReader.Read(output, verifyHashes: true);
        Assert.True(info.IsValid, string.Join("\n", info.Findings));
        Assert.Equal("trained", info.Metadata["kohyaps.lora_source"]);
        Assert.Equal(4, info.NetworkDim);
        Assert.Equal(2.0, info.NetworkAlpha);

        using var exported = SafetensorsFile.Open(output);
        using var source = SafetensorsFile.Open(ModelFile(checkpoint));
        Assert.Equal(source.Entries.Count, exported.Entries.Count);
        Assert.All(exported.Entries, e => Assert.Matches(@"^lora_(unet|te)_[a-z0-9_]+\.(lora_down\.weight|lora_up\.weight|alpha)$", e.Name));
        (string Kohya, string Ours)[] pairs =
        [
            ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight", "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_up.weight"),
            ("lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj.lora_down.weight", "unet.mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.lora_down.weight"),
            ("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight", "unet.down_blocks.0.resnets.0.conv1.lora_down.weight"),
            ("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_up.weight"),
            ("lora_te_text_model_encoder_layers_0_mlp_fc2.alpha", "text_encoder.text_model.encoder.layers.0.mlp.fc2.alpha"),
        ];
        foreach (var (kohya, ours) in pairs)
            Assert.True(exported.ReadBytes(kohya).AsSpan().SequenceEqual(source.ReadBytes(ours)), kohya); // direct: no SVD, no change

        // sshs_model_hash is SHA-256 of everything after the header, recomputed here from the file's bytes.
        byte[] bytes = File.ReadAllBytes(output);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        string expected = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan((int)(8 + headerLength))));
        Assert.Equal(expected, exported.Metadata["sshs_model_hash"]);
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
    }

    /// <summary>The straight run's final checkpoint exported (float32, so values are unchanged) to a kohya LoRA file.</summary>
    private string Export(string name)
    {
        string output = Path.Combine(Temp("export"), name + ".safetensors");
        Directory.CreateDirectory(Temp("export"));
        if (!File.Exists(output))
            CheckpointLoraExport.Export(new LoraExportRequest { CheckpointPath = _fx.Straight.FinalCheckpoint, OutputPath = output, Dtype = KohyaLoraSaveDtype.Float32 });
        return output;
    }

    [Fact]
    public void ANewRunStartsFromAnExportedLoraFileAndSaysTheOptimizerStartsFresh()
    {
        string file = Export("start");
        var first = new FirstAdapters();
        var result = TrainingRunner.Run(new TrainingRequest
        {
            Hyperparameters = LoraTrainingFixture.Config(2),
            DatasetPath = _fx.Runs.Square12,
            OutputPath = Temp("from-file"),
            NetworkWeightsPath = file,
            ExtraHooks = [first],
        }, NullTrainingObserver.Instance, CancellationToken.None);

        // The adapters the run started with are the file's, which are the straight run's final ones.
        var trained = TrainingTestSupport.TensorBytes(ModelFile(_fx.Straight.FinalCheckpoint));
        Assert.Equal(trained.Keys.Order(), first.Bytes!.Keys.Order());
        Assert.All(trained, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(first.Bytes[kv.Key]), kv.Key));
        string warning = Assert.Single(result.Warnings, w => w.Contains("weights only", StringComparison.Ordinal));
        Assert.Contains("optimizer state", warning);
        Assert.Contains("starts fresh", warning);
        var state = ResumeMatrixFixture.State(result.LatestCheckpoint!);
        Assert.Contains(warning, state.Segments[0].Warnings);
        using var optimizer = SafetensorsFile.Open(OptimizerFile(result.LatestCheckpoint!));
        Assert.Equal("2", optimizer.Metadata["kohyaps.optimizer.step"]); // 2 steps of its own, not the file's run's 6 + 2
    }

    [Theory]
    [InlineData("rank", "NetworkWeightsMismatch")]
    [InlineData("targets", "NetworkWeightsMismatch")]
    [InlineData("alpha", "NetworkWeightsMismatch")]
    [InlineData("none", "NetworkWeightsNeedLora")]
    [InlineData("absent", "NetworkWeightsNotFound")]
    [InlineData("checkpoint", "NetworkWeightsInvalid")]
    public void AFileThatDoesNotFitIsRefusedWithItsKeysListed(string problem, string errorId)
    {
        string file = problem switch
        {
            "absent" => Temp("no-such.safetensors"),
            "checkpoint" => OptimizerFile(_fx.Straight.FinalCheckpoint), // a safetensors file, but not a LoRA
            _ => Export("mismatch"),
        };
        var hp = LoraTrainingFixture.Config(1, h =>
        {
            if (problem == "rank") h.Network.Dim = 2;
            if (problem == "targets") h.Network.TargetModules = ["attention"];
            if (problem == "alpha") h.Network.Alpha = 3;
            if (problem == "none") h.Network.Type = "none";
        });
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Run(new TrainingRequest
        {
            Hyperparameters = hp, DatasetPath = _fx.Runs.Square12, OutputPath = Temp("refused-" + problem), NetworkWeightsPath = file,
        }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.NotNull(ex.RecommendedAction);
        if (problem == "rank")
            Assert.Matches(@"different \[lora_(unet|te)_\w+\.lora_(down|up)\.weight \[\d+,\d+(,\d+,\d+)?\], the network has \[", ex.Message);
        if (problem == "targets")
            Assert.Contains("not in the network [lora_", ex.Message);
        if (problem == "alpha")
            Assert.Contains("alpha 2, Network.Alpha is 3", ex.Message);
        Assert.Empty(CheckpointStore.List(Temp("refused-" + problem)));
    }

    [Fact]
    public void ResumeOnOtherBaseWeightsIsRefused()
    {
        // The same run resumed with another seed would rebuild another base under the saved adapters.
        string run = Temp("other-base");
        var hp = LoraTrainingFixture.Config(2);
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Runs.Square12, OutputPath = run, ExtraHooks = [new StopAtStep(1)] },
            NullTrainingObserver.Instance, CancellationToken.None);
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Resume(new ResumeRequest
        {
            RunPath = run,
            Overrides = new System.Collections.Hashtable { ["Training.Seed"] = hp.Training.Seed + 1 },
        }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("LoraBaseMismatch", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidData, ex.Kind);
        Assert.Single(CheckpointStore.List(run));
    }

    private string CopyCheckpoint(string name)
    {
        string source = _fx.Straight.FinalCheckpoint;
        string target = Path.Combine(Temp(name), CheckpointNames.Folder, Path.GetFileName(source));
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(source))
            File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        return target;
    }

    /// <summary>The adapters' bytes when the run starts.</summary>
    private sealed class FirstAdapters : ITrainingHook
    {
        public Dictionary<string, byte[]>? Bytes;

        public void OnRunStarted(TrainingContext context) =>
            Bytes = context.Model.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value.detach().contiguous().bytes.ToArray());
    }

    /// <summary>Fingerprints of the base and the adapters when the run starts and when it ends.</summary>
    private sealed class BaseWatch : ITrainingHook
    {
        public string? BaseBefore, BaseAfter, AdaptersBefore, AdaptersAfter, HashBefore;

        public void OnRunStarted(TrainingContext context)
        {
            BaseBefore = LoraBaseHash.Compute(context.Model.BaseStateTensors());
            AdaptersBefore = LoraBaseHash.Compute(context.Model.StateTensors());
            HashBefore = context.Model.BaseHash;
        }

        public void OnRunEnded(TrainingContext context, string status)
        {
            BaseAfter = LoraBaseHash.Compute(context.Model.BaseStateTensors());
            AdaptersAfter = LoraBaseHash.Compute(context.Model.StateTensors());
        }
    }
}
