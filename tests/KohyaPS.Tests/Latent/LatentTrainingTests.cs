using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Checkpoints.Verification;
using KohyaPS.Engine.Interop;
using KohyaPS.Engine.Loading;
using KohyaPS.Engine.Models.Clip;
using KohyaPS.Engine.Networks;
using KohyaPS.Engine.Sampling;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Latent;

/// <summary>
/// The latent path end to end on the tiny-sd preset — VAE latents, CLIP tokenizer, 4-channel UNet — through train → save →
/// interrupt → resume → sample, and the Model.Path start from a Stable Diffusion diffusers folder.
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class LatentTrainingTests : IClassFixture<LatentTrainingFixture>
{
    private readonly LatentTrainingFixture _fx;

    public LatentTrainingTests(LatentTrainingFixture fixture) => _fx = fixture;

    private string Temp(string name) => Path.Combine(_fx.Runs.Root, name);

    private static string ModelFile(string checkpoint) => Path.Combine(checkpoint, CheckpointNames.ModelFile);

    private static void AssertSameTensors(string a, string b)
    {
        var x = TrainingTestSupport.TensorBytes(a);
        var y = TrainingTestSupport.TensorBytes(b);
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        Assert.All(x, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(y[kv.Key]), kv.Key));
    }

    [Fact]
    public void InterruptedAndResumedLatentRunEqualsTheUninterruptedOneBitwise()
    {
        var straight = _fx.Straight;
        var split = _fx.Split;
        Assert.Equal(straight.Steps.Select(s => (s.Step, s.Loss, s.GradNorm)), split.Steps.Select(s => (s.Step, s.Loss, s.GradNorm)));
        Assert.All(straight.Steps, s => Assert.True(double.IsFinite(s.Loss) && s.Loss > 0, $"step {s.Step}: loss {s.Loss}"));
        AssertSameTensors(ModelFile(straight.FinalCheckpoint), ModelFile(split.FinalCheckpoint));
        AssertSameTensors(Path.Combine(straight.FinalCheckpoint, CheckpointNames.OptimizerFile), Path.Combine(split.FinalCheckpoint, CheckpointNames.OptimizerFile));
        Assert.Equal(2, split.FinalState.Segments.Count);
    }

    [Fact]
    public void LatentCheckpointRecordsTheClipTokenizerAndTheVaeButHoldsNoVaeWeights()
    {
        string checkpoint = _fx.Straight.FinalCheckpoint;
        var state = _fx.Straight.FinalState;
        Assert.Equal(CheckpointState.CurrentFormatVersion, state.FormatVersion);
        Assert.True(state.Tokenizer.IsClip);
        Assert.Empty(state.Tokenizer.Vocabulary);
        var byteLevel = ClipTokenizer.ByteLevel(40);
        Assert.Equal(byteLevel.Identity, state.Tokenizer.Sha256);
        Assert.Equal(514, state.Tokenizer.VocabularySize);
        Assert.Equal(40, state.Tokenizer.MaxLength);

        using var file = SafetensorsFile.Open(ModelFile(checkpoint));
        Assert.Contains(file.Entries, e => e.Name == "unet.conv_in.weight" && e.Shape[1] == 4); // the UNet reads 4 latent channels
        Assert.Contains(file.Entries, e => e.Name == "text_encoder.embeddings.token_embedding.weight" && e.Shape[0] == 514);
        Assert.DoesNotContain(file.Entries, e => e.Name.StartsWith("vae", StringComparison.Ordinal));

        // The VAE is the one the seed draws after the UNet and the text encoder: rebuilt here, its hash is the one recorded.
        var hp = LatentTrainingFixture.Config();
        using var rebuilt = TrainingModel.Create(hp.Model, byteLevel, hp.Training.Seed, CPU);
        Assert.NotNull(rebuilt.Vae);
        Assert.Equal(rebuilt.VaeHash, file.Metadata[TrainingModel.VaeHashMetadataKey]);
    }

    [Fact]
    public void TestCheckpointPassesOnALatentCheckpoint()
    {
        var result = CheckpointVerifier.Test(_fx.Straight.FinalCheckpoint, deep: true);
        Assert.True(result.IsValid, string.Join("\n", result.Checks.Select(c => $"{c.Name} {c.Status} {c.Message}")));
        Assert.Contains(result.Checks, c => c.Name == "Model structure" && c.Status == KohyaCheckStatus.Pass);
    }

    [Fact]
    public void SamplesOfALatentCheckpointAreDecodedToImagesOfTheRequestedSize()
    {
        SampleRequest Request(string folder) => new()
        {
            Path = _fx.Straight.FinalCheckpoint, Prompts = ["a red circle on a white background"], Count = 2, Seed = 5, Steps = 4, Sampler = "ddim",
            OutputPath = Temp(folder), Width = 24, Height = 16,
        };
        var samples = CheckpointSampling.Run(CheckpointSampling.Plan(Request("samples-a")));
        var again = CheckpointSampling.Run(CheckpointSampling.Plan(Request("samples-b")));
        Assert.Equal(2, samples.Count);
        foreach (var (a, b) in samples.Zip(again))
        {
            var image = Engine.Data.ImageLoader.DecodeRgb(a.Path);
            Assert.Equal((24, 16), (image.Width, image.Height)); // pixels, not the 12x8 latents the sampler worked on
            Assert.Equal(File.ReadAllBytes(a.Path), File.ReadAllBytes(b.Path));
        }
        Assert.NotEqual(File.ReadAllBytes(samples[0].Path), File.ReadAllBytes(samples[1].Path)); // two seeds, two images
    }

    [Fact]
    public void SamplingRefusesASizeTheVaeAndUNetCannotTake()
    {
        var plan = CheckpointSampling.Plan(new SampleRequest
        {
            Path = _fx.Straight.FinalCheckpoint, Prompts = ["a red circle"], Steps = 2, OutputPath = Temp("samples-odd"), Width = 18, Height = 16,
        });
        var ex = Assert.Throws<KohyaException>(() => CheckpointSampling.Run(plan));
        Assert.Equal("SampleSizeInvalid", ex.ErrorId);
        Assert.Contains("multiples of 4", ex.Message); // VAE 2x, UNet 2x
    }

    private sealed class Notes : ITrainingObserver
    {
        public List<string> Verbose { get; } = new();
        public List<string> Warnings { get; } = new();
        public List<KohyaTrainingProgress> Caching { get; } = new();
        public void Progress(KohyaTrainingProgress progress) { if (progress.Phase == KohyaTrainingProgress.CachingLatentsPhase) Caching.Add(progress); }
        public void Warning(string message) => Warnings.Add(message);
        void ITrainingObserver.Verbose(string message) => Verbose.Add(message);
    }

    [Fact]
    public void CachedLatentRunEqualsTheUncachedOneBitwiseAndItsResumeEncodesNothing()
    {
        var hp = LatentTrainingFixture.Config(tweak: h => h.Data.CacheLatents = true);
        string run = Temp("latent-cached");
        var first = new Notes();
        var stopped = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = run, ExtraHooks = [new StopAtStep(3)] },
            first, CancellationToken.None);
        Assert.Equal(3, stopped.FinalStep);
        Assert.Contains(first.Verbose, v => v.Contains("0 of 12 samples cached already, 12 encoded", StringComparison.Ordinal));
        Assert.Equal(12, first.Caching[^1].Step);
        Assert.Equal(12, Directory.GetFiles(Path.Combine(run, "cache", "latents"), "*.safetensors", SearchOption.AllDirectories).Length);

        var second = new Notes();
        var done = TrainingRunner.Resume(new ResumeRequest { RunPath = run }, second, CancellationToken.None);
        Assert.Equal(6, done.FinalStep);
        Assert.Contains(second.Verbose, v => v.Contains("12 of 12 samples cached already, 0 encoded", StringComparison.Ordinal));
        Assert.Empty(second.Warnings);
        // The cache changes where latents come from, not what they are: the same weights as the straight uncached run.
        AssertSameTensors(ModelFile(_fx.Straight.FinalCheckpoint), ModelFile(done.LatestCheckpoint!));
    }

    [Fact]
    public void CtrlCWhileTheCacheFillsStopsTheRunAndTheNextStartFinishesTheFill()
    {
        var hp = LatentTrainingFixture.Config(tweak: h => h.Data.CacheLatents = true);
        string run = Temp("cache-ctrl-c");
        using var cts = new CancellationTokenSource();
        var notes = new CancelOnCaching(cts, afterImages: 4);
        var stopped = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = run }, notes, cts.Token);
        Assert.Equal("Stopped", stopped.Status);
        Assert.Equal(0, stopped.FinalStep);
        int cached = Directory.GetFiles(Path.Combine(run, "cache", "latents"), "*.safetensors", SearchOption.AllDirectories).Length;
        Assert.InRange(cached, 4, 11); // what was written stays; the rest was never started

        Assert.Null(stopped.LatestCheckpoint); // stopped before its first step: nothing to save, so the folder can start again

        var again = new Notes();
        var done = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = run }, again, CancellationToken.None);
        Assert.Equal(6, done.FinalStep);
        Assert.Contains(again.Verbose, v => v.Contains($"{cached} of 12 samples cached already, {12 - cached} encoded", StringComparison.Ordinal));
        Assert.Equal(12, Directory.GetFiles(Path.Combine(run, "cache", "latents"), "*.safetensors", SearchOption.AllDirectories).Length);
        AssertSameTensors(ModelFile(_fx.Straight.FinalCheckpoint), ModelFile(done.LatestCheckpoint!));
    }

    private sealed class CancelOnCaching(CancellationTokenSource cts, int afterImages) : ITrainingObserver
    {
        public void Progress(KohyaTrainingProgress progress)
        {
            if (progress.Phase == KohyaTrainingProgress.CachingLatentsPhase && progress.Step >= afterImages)
                cts.Cancel();
        }
        public void Warning(string message) { }
        public void Verbose(string message) { }
    }

    [Fact]
    public void DamagedCacheEntryIsEncodedAgainWithAWarningAndTheRunIsUnchanged()
    {
        var hp = LatentTrainingFixture.Config(3, h => h.Data.CacheLatents = true);
        string cache = Temp("shared-cache");
        hp.Data.LatentCacheDirectory = cache;
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("cache-a") }, NullTrainingObserver.Instance, CancellationToken.None);
        string victim = Directory.GetFiles(cache, "*.safetensors", SearchOption.AllDirectories).Order().First();
        var bytes = File.ReadAllBytes(victim);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(victim, bytes);

        var notes = new Notes();
        var again = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("cache-b") }, notes, CancellationToken.None);
        var warning = Assert.Single(notes.Warnings);
        Assert.Contains(Path.GetFileName(victim), warning);
        Assert.Contains(notes.Verbose, v => v.Contains("11 of 12 samples cached already, 1 encoded (1 replaced damaged files)", StringComparison.Ordinal));
        var reference = TrainingRunner.Run(new TrainingRequest { Hyperparameters = LatentTrainingFixture.Config(3), DatasetPath = _fx.Demo, OutputPath = Temp("cache-none") },
            NullTrainingObserver.Instance, CancellationToken.None);
        AssertSameTensors(ModelFile(reference.LatestCheckpoint!), ModelFile(again.LatestCheckpoint!));
    }

    [Fact]
    public void CacheLatentsIsRefusedForAPixelPreset()
    {
        var hp = TrainingTestSupport.Tiny(2, tweak: h => h.Data.CacheLatents = true);
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Run(
            new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("pixel-cache") }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("InvalidHyperparameter", ex.ErrorId);
        Assert.Contains("Data.CacheLatents needs a latent preset", ex.Message);
    }

    [Fact]
    public void LatentLoraInBfloat16WithCheckpointingAndTheCacheResumesBitwise()
    {
        // Every memory option of issue 10 at once on the latent path: bf16 compute behind float32 masters, gradient
        // checkpointing, cached latents, a LoRA with dropout; interrupted at step 2 and resumed.
        var hp = LatentTrainingFixture.Config(4, h =>
        {
            h.Resources.Dtype = "bfloat16";
            h.Resources.GradientCheckpointing = true;
            h.Data.CacheLatents = true;
            h.Network.Type = "lora";
            h.Network.Dropout = 0.2;
        });
        var straight = _fx.Runs.Straight("latent-bf16-straight", hp, _fx.Demo);
        var split = _fx.Runs.Interrupted("latent-bf16-split", hp, _fx.Demo, 2);
        Assert.All(straight.Steps, s => Assert.True(double.IsFinite(s.Loss), $"step {s.Step}: loss {s.Loss}"));
        AssertSameTensors(ModelFile(straight.FinalCheckpoint), ModelFile(split.FinalCheckpoint));
        using var file = SafetensorsFile.Open(ModelFile(straight.FinalCheckpoint));
        Assert.All(file.Entries, e => Assert.Equal(SafetensorsDtype.F32, e.Dtype)); // the float32 masters
        Assert.Equal("bfloat16", straight.FinalState.Dtype);
    }

    [Fact]
    public void LatentLossFallsOnTheDemoDataset()
    {
        var recorder = new StepRecorder();
        var hp = LatentTrainingFixture.Config(40, h => h.Optimizer.LearningRate = 5e-3);
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("latent-loss"), ExtraHooks = [recorder] },
            NullTrainingObserver.Instance, CancellationToken.None);
        recorder.AssertLossFell(0.8);
    }

    [Fact]
    public void LatentRunRefusesAResolutionTheModelCannotTakeBeforeBuildingIt()
    {
        // sd15 divides image sides by 64 (VAE 8x, UNet 8x): 72 px passes the general multiple-of-8 rule but not the model's.
        var hp = LatentTrainingFixture.Config(2, h =>
        {
            h.Model.Preset = "sd15";
            h.Data.Resolution = 72;
        });
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Run(
            new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("latent-odd") }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("ResolutionNotDivisible", ex.ErrorId);
        Assert.Contains("Data.Resolution is 72", ex.Message);
        Assert.Contains("multiples of 64", ex.Message);
        Assert.False(Directory.Exists(Path.Combine(Temp("latent-odd"), "checkpoints")));
    }

    [Fact]
    public void ModelPathIsRefusedForAPixelPreset()
    {
        var hp = TrainingTestSupport.Tiny(2, tweak: h => h.Model.Path = Temp("nowhere"));
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Run(
            new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("pixel-path") }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Contains("Model.Path", ex.Message);
        Assert.Contains("latent preset", ex.Message);
    }

    [Fact]
    public void LoraOnADiffusersFolderTrainsOnItsWeightsResumesExactlyAndRefusesAChangedBase()
    {
        string model = _fx.WriteDiffusersFolder("sd-folder", seed: 71);
        var hp = LatentTrainingFixture.Config(4, h =>
        {
            h.Model.Path = model;
            h.Network.Type = "lora";
            h.Network.Dim = 4;
            h.Network.Alpha = 4;
        });
        var straight = _fx.Runs.Straight("path-lora-straight", hp, _fx.Demo);
        var split = _fx.Runs.Interrupted("path-lora-split", hp, _fx.Demo, 2);
        AssertSameTensors(ModelFile(straight.FinalCheckpoint), ModelFile(split.FinalCheckpoint));

        // The frozen base is the folder's weights, named by their hash and the folder.
        using var loaded = StableDiffusionLoader.Load(model);
        var expectedBase = LoraBaseHash.Compute(
            loaded.UNet.state_dict().Select(kv => KeyValuePair.Create(TrainingModel.UNetPrefix + kv.Key, kv.Value))
                .Concat(loaded.TextEncoder.state_dict().Select(kv => KeyValuePair.Create(TrainingModel.TextEncoderPrefix + kv.Key, kv.Value))));
        using (var file = SafetensorsFile.Open(ModelFile(straight.FinalCheckpoint)))
        {
            Assert.Equal(expectedBase, file.Metadata[LoraBaseHash.MetadataKey]);
            Assert.Equal("model:sd-folder", file.Metadata[LoraBaseHash.SourceMetadataKey]);
            Assert.Equal(LoraBaseHash.Compute(loaded.Vae.state_dict()), file.Metadata[TrainingModel.VaeHashMetadataKey]);
        }
        Assert.Equal(ClipTokenizer.FromFiles(Path.Combine(model, "tokenizer", "vocab.json"), Path.Combine(model, "tokenizer", "merges.txt"), 40).Identity,
            straight.FinalState.Tokenizer.Sha256);

        // Exported for A1111/ComfyUI: kohya's key names, read back with its hash checked.
        string exported = Temp("path-lora.safetensors");
        var info = Engine.LoraExport.CheckpointLoraExport.Export(new Engine.LoraExport.LoraExportRequest
        {
            CheckpointPath = straight.FinalCheckpoint, OutputPath = exported, Dtype = KohyaLoraSaveDtype.Float32,
        });
        Assert.True(info.UNetModuleCount > 0);
        using (var lora = SafetensorsFile.Open(exported))
            Assert.All(lora.Entries, e => Assert.Matches(@"^lora_(unet|te)_[a-z0-9_]+\.(lora_down\.weight|lora_up\.weight|alpha)$", e.Name));

        // Other UNet weights in the same folder: the LoRA would continue on another base.
        _fx.WriteDiffusersFolder("sd-folder", seed: 72);
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Resume(
            new ResumeRequest { RunPath = straight.RunPath, MaxSteps = 6 }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("LoraBaseMismatch", ex.ErrorId);
    }

    [Fact]
    public void FullFineTuneFromADiffusersFolderRefusesAnotherVaeAndAnotherTokenizerOnResume()
    {
        string model = _fx.WriteDiffusersFolder("sd-full", seed: 81);
        var hp = LatentTrainingFixture.Config(2, h => h.Model.Path = model);
        var run = _fx.Runs.Straight("path-full", hp, _fx.Demo);
        using (var file = SafetensorsFile.Open(ModelFile(run.FinalCheckpoint)))
        {
            // A full fine-tune starts from the folder's weights: its first UNet weight differs from the seed's own model.
            Assert.Contains(file.Entries, e => e.Name == "unet.conv_in.weight");
        }
        _fx.WriteDiffusersFolder("sd-full", seed: 81, vaeSeed: 5);
        var vae = Assert.Throws<KohyaException>(() => TrainingRunner.Resume(
            new ResumeRequest { RunPath = run.RunPath, MaxSteps = 4 }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("VaeMismatch", vae.ErrorId);

        _fx.WriteDiffusersFolder("sd-full", seed: 81);
        File.AppendAllText(Path.Combine(model, "tokenizer", "merges.txt"), "c at</w>\n");
        var tokenizer = Assert.Throws<KohyaException>(() => TrainingRunner.Resume(
            new ResumeRequest { RunPath = run.RunPath, MaxSteps = 4 }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("TokenizerMismatch", tokenizer.ErrorId);
    }

    [Fact]
    public void MovedModelFolderResumesWithAnOverrideOfModelPath()
    {
        string before = _fx.WriteDiffusersFolder("sd-before-move", seed: 85);
        var hp = LatentTrainingFixture.Config(2, h => h.Model.Path = before);
        var run = _fx.Runs.Straight("path-moved", hp, _fx.Demo);
        string after = Temp("sd-after-move");
        Directory.Move(before, after);

        var missing = Assert.Throws<KohyaException>(() => TrainingRunner.Resume(new ResumeRequest { RunPath = run.RunPath, MaxSteps = 4 },
            NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("ModelFileMissing", missing.ErrorId);

        var moved = TrainingRunner.Resume(new ResumeRequest
        {
            RunPath = run.RunPath, MaxSteps = 4, Overrides = new System.Collections.Hashtable { ["Model.Path"] = after },
        }, NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(4, moved.FinalStep);
        var segment = ResumeMatrixFixture.State(moved.LatestCheckpoint!).Segments[^1];
        Assert.Contains(segment.Overrides, o => o.Contains("Model.Path", StringComparison.Ordinal));
    }

    [Fact]
    public void DiffusersFolderWithoutATokenizerTrainsWithModelTokenizerPath()
    {
        string model = _fx.WriteDiffusersFolder("sd-no-tokenizer", seed: 95);
        string tokenizer = Temp("tokenizer-elsewhere");
        Directory.Move(Path.Combine(model, "tokenizer"), tokenizer);
        var hp = LatentTrainingFixture.Config(2, h => h.Model.Path = model);
        var missing = Assert.Throws<KohyaException>(() => TrainingRunner.Run(
            new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("no-tokenizer") }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("TokenizerMissing", missing.ErrorId);

        // The folder's own tokenizer/ is not needed (nor read) when Model.TokenizerPath names one.
        hp.Model.TokenizerPath = tokenizer;
        var done = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("tokenizer-elsewhere-run") },
            NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(2, done.FinalStep);
    }

    [Fact]
    public void SingleFileModelPathNeedsATokenizerPath()
    {
        string folder = _fx.WriteDiffusersFolder("sd-for-file", seed: 91);
        using var loaded = StableDiffusionLoader.Load(folder);
        string file = Temp("tiny-sd.safetensors");
        StableDiffusionWriter.WriteSingleFile(file, loaded, ScalarType.Float32);
        var hp = LatentTrainingFixture.Config(2, h => h.Model.Path = file);
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Run(
            new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("file-no-tokenizer") }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("TokenizerMissing", ex.ErrorId);

        // With the tokenizer folder and the shapes of the file's model (tiny-sd with a 2-layer, 41-token text encoder), it trains.
        hp.Model.TokenizerPath = Path.Combine(folder, "tokenizer");
        var done = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = _fx.Demo, OutputPath = Temp("file-run") },
            NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(2, done.FinalStep);
    }
}
