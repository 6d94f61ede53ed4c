using KohyaPS.Engine;
using KohyaPS.Engine.Hyperparameters.Interop;

namespace KohyaPS.Tests.Hyperparameters;

/// <summary>kohya_ss GUI JSON and sd-scripts TOML / --flag imports, from samples written with the documented keys.</summary>
public sealed class KohyaConfigImportTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-import-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_root, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A kohya_ss GUI LoRA configuration: numbers as numbers and as text, empty strings for "not set", as the GUI writes them.</summary>
    internal const string GuiJson = """
        {
          "LoRA_type": "Standard",
          "learning_rate": 0.0005,
          "unet_lr": 0.0001,
          "text_encoder_lr": 5e-05,
          "network_dim": 16,
          "network_alpha": 8,
          "optimizer": "AdamW",
          "optimizer_args": "weight_decay=0.05 betas=(0.9, 0.99)",
          "lr_scheduler": "cosine",
          "lr_warmup": 10,
          "lr_scheduler_num_cycles": "",
          "max_train_steps": "400",
          "seed": "1234",
          "train_batch_size": 2,
          "gradient_accumulation_steps": "1",
          "max_resolution": "512,512",
          "enable_bucket": true,
          "min_bucket_reso": 256,
          "max_bucket_reso": 1024,
          "bucket_reso_steps": 64,
          "flip_aug": true,
          "keep_tokens": "1",
          "caption_dropout_rate": 0.05,
          "caption_extension": ".txt",
          "noise_offset": "0.05",
          "noise_offset_type": "Original",
          "min_snr_gamma": 5,
          "mixed_precision": "no",
          "save_every_n_steps": 50,
          "sample_prompts": "a photo of sks cat --w 512 --h 512\n\na drawing of sks cat",
          "sample_every_n_steps": 100,
          "sample_sampler": "euler_a",
          "epoch": 4,
          "clip_skip": 2,
          "xformers": "xformers",
          "cache_latents": true,
          "output_name": "cat",
          "pretrained_model_name_or_path": "runwayml/stable-diffusion-v1-5",
          "color_aug": false,
          "save_state": true,
          "some_future_option": 3
        }
        """;

    [Fact]
    public void AKohyaSsGuiFileMapsByTheTable()
    {
        var result = KohyaConfigImporter.ImportKohyaSsJson(Write("lora.json", GuiJson));
        var s = result.Set;
        Assert.Equal("lora", s.Network.Type);
        Assert.Equal(16, s.Network.Dim);
        Assert.Equal(8.0, s.Network.Alpha);
        Assert.Equal(1e-4, s.Network.UnetLearningRate);
        Assert.Equal(5e-5, s.Network.TextEncoderLearningRate);
        Assert.Equal(5e-4, s.Optimizer.LearningRate);
        Assert.Equal("AdamW", s.Optimizer.Type);
        Assert.Equal(0.05, s.Optimizer.WeightDecay);
        Assert.Equal(0.9, s.Optimizer.Beta1);
        Assert.Equal(0.99, s.Optimizer.Beta2);
        Assert.Equal("cosine", s.LRSchedule.Name);
        Assert.Equal(40, s.LRSchedule.WarmupSteps); // 10 % of 400
        Assert.Equal(1, s.LRSchedule.NumCycles);     // "" = not set
        Assert.Equal(400, s.Training.MaxSteps);
        Assert.Equal(1234, s.Training.Seed);
        Assert.Equal(2, s.Data.BatchSize);
        Assert.Equal(512, s.Data.Resolution);
        Assert.True(s.Data.EnableBucket);
        Assert.Equal((256, 1024, 64), (s.Data.MinBucketReso, s.Data.MaxBucketReso, s.Data.BucketResoSteps));
        Assert.True(s.Data.FlipAug);
        Assert.Equal(1, s.Data.KeepTokens);
        Assert.Equal(0.05, s.Data.CaptionDropoutRate);
        Assert.Equal(0.05, s.Diffusion.NoiseOffset);
        Assert.Equal(5.0, s.Diffusion.MinSnrGamma);
        Assert.Equal(50, s.Saving.SaveEveryNSteps);
        Assert.Equal(new[] { "a photo of sks cat --w 512 --h 512", "a drawing of sks cat" }, s.Sampling.Prompts);
        Assert.Equal(100, s.Sampling.SampleEveryNSteps);
        Assert.Equal("euler_a", s.Sampling.Sampler);
        Assert.Equal("runwayml/stable-diffusion-v1-5", s.Model.Path); // as given
        Assert.Equal("sd15", s.Model.Preset);
        Assert.Equal(77, s.Model.MaxTokens); // kohya's 75 tokens plus start and end
        Assert.True(s.Data.CacheLatents);     // the set is latent by then
        Assert.Equal("float32", s.Resources.Dtype);

        // Every key is accounted for, and those that ask for something KohyaPS does not do are active (warnings).
        var active = result.NotApplied.Where(n => n.Active).Select(n => n.Key).OrderBy(k => k, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { "clip_skip", "epoch", "output_name", "some_future_option" }, active);
        var quiet = result.NotApplied.Where(n => !n.Active).Select(n => n.Key).ToHashSet();
        Assert.Superset(new HashSet<string> { "xformers", "color_aug", "save_state", "noise_offset_type", "lr_scheduler_num_cycles" }, quiet);
        int keys = System.Text.Json.JsonDocument.Parse(GuiJson).RootElement.EnumerateObject().Count();
        Assert.Equal(keys, result.Applied.Select(a => a.Key.Split('.')[0]).Concat(result.NotApplied.Select(n => n.Key)).Distinct().Count());
        Assert.Contains("epochs", result.NotApplied.Single(n => n.Key == "epoch").Reason);
    }

    [Fact]
    public void GuiSpecificRulesFollowTheGui()
    {
        var multires = KohyaConfigImporter.ImportKohyaSsJson(Write("m.json", """{ "noise_offset": 0.1, "noise_offset_type": "Multires", "lr_warmup": 5 }"""));
        Assert.Equal(0.0, multires.Set.Diffusion.NoiseOffset);
        Assert.Contains(multires.NotApplied, n => n.Key == "noise_offset_type" && n.Active);
        Assert.Contains(multires.NotApplied, n => n.Key == "lr_warmup" && n.Active && n.Reason.Contains("max_train_steps"));

        var absolute = KohyaConfigImporter.ImportKohyaSsJson(Write("a.json", """{ "max_train_steps": 100, "lr_warmup": 50, "lr_warmup_steps": 7 }"""));
        Assert.Equal(7, absolute.Set.LRSchedule.WarmupSteps);

        var eightBit = KohyaConfigImporter.ImportKohyaSsJson(Write("o.json", """{ "optimizer": "AdamW8bit", "LoRA_type": "Kohya LoCon", "mixed_precision": "bf16", "max_resolution": "768,512" }"""));
        Assert.Equal("AdamW", eightBit.Set.Optimizer.Type);
        Assert.Equal("none", eightBit.Set.Network.Type);
        Assert.Equal("bfloat16", eightBit.Set.Resources.Dtype);
        Assert.Equal(new[] { "LoRA_type", "max_resolution", "optimizer" }, eightBit.NotApplied.Where(n => n.Active).Select(n => n.Key).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("no", "float32")]
    [InlineData("fp32", "float32")]
    [InlineData("float32", "float32")]
    [InlineData("bf16", "bfloat16")]
    [InlineData("fp16", "float16")]
    public void MixedPrecisionSetsTheComputeDtype(string kohya, string dtype)
    {
        var result = KohyaConfigImporter.ImportSdScriptsArguments(new[] { "--mixed_precision", kohya, "--gradient_checkpointing" });
        Assert.Equal(dtype, result.Set.Resources.Dtype);
        Assert.True(result.Set.Resources.GradientCheckpointing);
        Assert.Empty(result.NotApplied);
    }

    [Fact]
    public void PrecisionsKohyaPSDoesNotHaveAreNotApplied()
    {
        var result = KohyaConfigImporter.ImportKohyaSsJson(Write("p.json", """{ "mixed_precision": "fp8", "full_bf16": true, "full_fp16": false, "gradient_checkpointing": false }"""));
        Assert.Equal("float32", result.Set.Resources.Dtype);
        Assert.False(result.Set.Resources.GradientCheckpointing);
        var precision = result.NotApplied.Single(n => n.Key == "mixed_precision");
        Assert.True(precision.Active);
        Assert.Contains("Resources.Dtype stays float32", precision.Reason);
        var full = result.NotApplied.Single(n => n.Key == "full_bf16");
        Assert.True(full.Active);
        Assert.Contains("float32 master weights", full.Reason);
        Assert.Contains("mixed_precision", full.Reason);
        Assert.False(result.NotApplied.Single(n => n.Key == "full_fp16").Active);
    }

    [Fact]
    public void ABaseModelIsLoadedAsStableDiffusion1()
    {
        var result = KohyaConfigImporter.ImportSdScriptsArguments(new[]
            { "--cache_latents_to_disk", "--pretrained_model_name_or_path", "/models/sd15", "--max_token_length=75", "--vae", "/models/vae.safetensors" });
        Assert.Equal("/models/sd15", result.Set.Model.Path);
        Assert.Equal("sd15", result.Set.Model.Preset);
        Assert.Equal(77, result.Set.Model.MaxTokens);
        Assert.True(result.Set.Data.CacheLatents); // the base model is applied first, whatever the order of the flags
        var vae = Assert.Single(result.NotApplied);
        Assert.Equal("vae", vae.Key);
        Assert.True(vae.Active);
        Assert.Contains("the model's own VAE", vae.Reason);

        var shorter = KohyaConfigImporter.ImportSdScriptsArguments(new[] { "--pretrained_model_name_or_path=m.safetensors", "--max_token_length", "40" });
        Assert.Equal(42, shorter.Set.Model.MaxTokens);

        var longer = KohyaConfigImporter.ImportKohyaSsJson(Write("long.json", """{ "pretrained_model_name_or_path": "m.safetensors", "max_token_length": "150" }"""));
        Assert.Equal(77, longer.Set.Model.MaxTokens);
        var tokens = longer.NotApplied.Single(n => n.Key == "max_token_length");
        Assert.True(tokens.Active);
        Assert.Contains("chunks", tokens.Reason);

        var empty = KohyaConfigImporter.ImportKohyaSsJson(Write("empty.json", """{ "pretrained_model_name_or_path": "", "model_list": "custom" }"""));
        Assert.Equal("small", empty.Set.Model.Preset);
        Assert.Equal("", empty.Set.Model.Path);
        Assert.All(empty.NotApplied, n => Assert.False(n.Active));

        Assert.Equal("HyperparameterImportInvalidValue", Assert.Throws<KohyaException>(() =>
            KohyaConfigImporter.ImportSdScriptsArguments(new[] { "--max_token_length", "many" })).ErrorId);
    }

    [Theory]
    [InlineData("v2")]
    [InlineData("sdxl")]
    public void AV2OrSdxlModelDoesNotBecomeSd15(string architecture)
    {
        var result = KohyaConfigImporter.ImportKohyaSsJson(Write("other.json", $$"""{ "{{architecture}}": true, "pretrained_model_name_or_path": "other.safetensors", "cache_latents": true }"""));
        Assert.Equal("small", result.Set.Model.Preset);
        Assert.Equal("", result.Set.Model.Path);
        Assert.False(result.Set.Data.CacheLatents);
        var model = result.NotApplied.Single(n => n.Key == "pretrained_model_name_or_path");
        Assert.True(model.Active);
        Assert.Contains($"{architecture} is true", model.Reason);
        Assert.True(result.NotApplied.Single(n => n.Key == architecture).Active);
        Assert.True(result.NotApplied.Single(n => n.Key == "cache_latents").Active);

        var off = KohyaConfigImporter.ImportKohyaSsJson(Write("sd1.json", $$"""{ "{{architecture}}": false, "pretrained_model_name_or_path": "sd1.safetensors" }"""));
        Assert.Equal("sd15", off.Set.Model.Preset);
    }

    [Fact]
    public void CachingLatentsNeedsALatentModel()
    {
        var pixels = KohyaConfigImporter.ImportSdScriptsArguments(new[] { "--cache_latents", "--resolution", "16" });
        Assert.False(pixels.Set.Data.CacheLatents);
        var note = Assert.Single(pixels.NotApplied);
        Assert.Equal("cache_latents", note.Key);
        Assert.True(note.Active);
        Assert.Contains("needs a latent model", note.Reason);
        Assert.Contains("small", note.Reason);

        var off = KohyaConfigImporter.ImportKohyaSsJson(Write("off.json", """{ "cache_latents": false, "cache_latents_to_disk": false }"""));
        Assert.Equal(2, off.NotApplied.Count(n => !n.Active && n.Key.StartsWith("cache_latents", StringComparison.Ordinal)));
        Assert.DoesNotContain(off.NotApplied, n => n.Active);

        var disk = KohyaConfigImporter.ImportKohyaSsJson(Write("disk.json", """{ "pretrained_model_name_or_path": "m", "cache_latents": false, "cache_latents_to_disk": true }"""));
        Assert.True(disk.Set.Data.CacheLatents);
    }

    /// <summary>An sd-scripts --config_file TOML: sections are only grouping (sd-scripts flattens one level).</summary>
    internal const string SdScriptsToml = """
        pretrained_model_name_or_path = "model.safetensors"

        [training_arguments]
        max_train_steps = 300
        train_batch_size = 4
        seed = 7
        mixed_precision = "no"
        gradient_accumulation_steps = 2
        xformers = true

        [optimizer_arguments]
        optimizer_type = "SGDNesterov"
        learning_rate = 1e-3
        lr_scheduler = "linear"
        lr_warmup_steps = 0.1
        optimizer_args = [ "momentum=0.8", "weight_decay=1e-4", "foreach=True" ]
        max_grad_norm = 0.5

        [network_arguments]
        network_module = "networks.lora"
        network_dim = 32
        network_alpha = 16.0
        network_train_unet_only = true

        [dataset_arguments]
        resolution = "256"
        caption_extension = ".caption"
        shuffle_caption = true

        [sample_prompt_arguments]
        sample_prompts = "prompts.txt"
        sample_every_n_epochs = 1

        [saving_arguments]
        save_every_n_epochs = 1
        save_last_n_epochs = 3
        """;

    [Fact]
    public void AnSdScriptsTomlMapsByTheTable()
    {
        var result = KohyaConfigImporter.ImportSdScriptsToml(Write("config.toml", SdScriptsToml));
        var s = result.Set;
        Assert.Equal(300, s.Training.MaxSteps);
        Assert.Equal(4, s.Data.BatchSize);
        Assert.Equal(7, s.Training.Seed);
        Assert.Equal(2, s.Data.GradientAccumulationSteps);
        Assert.Equal("SGD", s.Optimizer.Type);
        Assert.True(s.Optimizer.Nesterov);
        Assert.Equal(0.8, s.Optimizer.Momentum); // optimizer_args wins over SGDNesterov's 0.9
        Assert.Equal(1e-4, s.Optimizer.WeightDecay);
        Assert.Equal(0.5, s.Optimizer.MaxGradNorm);
        Assert.Equal("linear", s.LRSchedule.Name);
        Assert.Equal(30, s.LRSchedule.WarmupSteps); // a ratio of max_train_steps
        Assert.Equal("lora", s.Network.Type);
        Assert.Equal(32, s.Network.Dim);
        Assert.False(s.Model.TrainTextEncoder);
        Assert.Equal(256, s.Data.Resolution);
        Assert.Equal(".caption", s.Data.CaptionExtension);
        Assert.True(s.Data.ShuffleCaption);
        Assert.Equal("prompts.txt", s.Sampling.PromptsFile);
        Assert.Equal(1, s.Sampling.SampleEveryNEpochs);
        Assert.Equal(3, s.Saving.KeepLast);
        Assert.Equal("model.safetensors", s.Model.Path);
        Assert.Equal("sd15", s.Model.Preset);
        Assert.Equal("float32", s.Resources.Dtype);
        Assert.Equal(new[] { "optimizer_args.foreach" }, result.NotApplied.Where(n => n.Active).Select(n => n.Key));
        Assert.Contains(result.NotApplied, n => n.Key == "xformers" && !n.Active);
    }

    [Fact]
    public void SdScriptsArgumentsMapAsTheTomlDoes()
    {
        const string line = "accelerate launch train_network.py --learning_rate=\"1e-4\" --optimizer_type AdamW \\\n"
            + "  --optimizer_args weight_decay=0.01 \"betas=0.9,0.95\" --v_parameterization --resolution 64,64 --network_dim 8 --cache_latents --output_name 'my cat'";
        var result = KohyaConfigImporter.ImportSdScriptsArguments(new[] { line });
        var s = result.Set;
        Assert.Equal(1e-4, s.Optimizer.LearningRate);
        Assert.Equal(0.01, s.Optimizer.WeightDecay);
        Assert.Equal(0.95, s.Optimizer.Beta2);
        Assert.Equal("v_prediction", s.Diffusion.PredictionType);
        Assert.Equal(64, s.Data.Resolution);
        Assert.Equal(8, s.Network.Dim);
        Assert.Equal("none", s.Network.Type); // no network_module: the dim alone does not make a LoRA
        Assert.Equal(new[] { "cache_latents", "output_name" }, result.NotApplied.Where(n => n.Active).Select(n => n.Key).Order(StringComparer.Ordinal));
        Assert.False(s.Data.CacheLatents); // no base model: the set trains on pixels
        Assert.Contains(result.NotApplied, n => n.Value.Contains("accelerate launch train_network.py"));

        var split = KohyaConfigImporter.ImportSdScriptsArguments(new[] { "--learning_rate", "2e-4", "--flip_aug" });
        Assert.Equal(2e-4, split.Set.Optimizer.LearningRate);
        Assert.True(split.Set.Data.FlipAug);
    }

    [Fact]
    public void ValuesThatDoNotFitAreErrorsNamingTheKey()
    {
        var ex = Assert.Throws<KohyaException>(() => KohyaConfigImporter.ImportKohyaSsJson(Write("bad.json", """{ "learning_rate": "fast" }""")));
        Assert.Equal("HyperparameterImportInvalidValue", ex.ErrorId);
        Assert.Contains("learning_rate", ex.Message);
        Assert.Contains("Optimizer.LearningRate", ex.Message);

        var invalid = Assert.Throws<KohyaException>(() => KohyaConfigImporter.ImportSdScriptsArguments(new[] { "--train_batch_size=0" }));
        Assert.Equal("InvalidHyperparameter", invalid.ErrorId);
        Assert.Contains("train_batch_size", invalid.Message);

        var dataset = Assert.Throws<KohyaException>(() => KohyaConfigImporter.ImportSdScriptsToml(Write("ds.toml", "[general]\n[[datasets]]\n[[datasets.subsets]]\nimage_dir = 'x'\n")));
        Assert.Equal("HyperparameterImportInvalid", dataset.ErrorId);
        Assert.Contains("-DatasetPath", dataset.RecommendedAction);
        Assert.Equal("HyperparameterImportInvalid", Assert.Throws<KohyaException>(() => KohyaConfigImporter.ImportKohyaSsJson(Write("x.json", "[1]"))).ErrorId);
    }

    [Fact]
    public void TheAboutTopicDocumentsEveryMappedKeyAndEveryOption()
    {
        string about = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "help", "about_KohyaPS_Hyperparameters.md"));
        foreach (var key in KohyaKeyMap.Keys.Select(k => k.Key).Distinct())
            Assert.True(about.Contains(key, StringComparison.Ordinal), $"the mapping table does not mention '{key}'");
        foreach (var key in KohyaKeyMap.Known.Keys)
            Assert.True(about.Contains(key, StringComparison.Ordinal), $"the list of recognised keys does not mention '{key}'");
        foreach (var option in KohyaPS.Engine.Hyperparameters.HyperparameterSchema.Options)
            Assert.True(about.Contains(option.Name, StringComparison.Ordinal), $"the option list does not mention {option.Path}");
    }
}
