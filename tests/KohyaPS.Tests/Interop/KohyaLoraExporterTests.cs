using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Interop;
using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Interop;

public sealed class KohyaLoraExporterTests : InteropTempFolder
{
    private const string Attn = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q";
    private const string ProjIn = "down_blocks.0.attentions.0.proj_in";
    private const string Q = "text_model.encoder.layers.0.self_attn.q_proj";

    private static readonly KohyaLoraKeyMap Map = new([Attn, ProjIn, "mid_block.attentions.0.proj_out"], [Q, "text_model.encoder.layers.0.mlp.fc1"]);

    public KohyaLoraExporterTests() => TorchRuntime.EnsureLoaded();

    private static KohyaLoraExportSettings Settings(KohyaLoraSaveDtype dtype = KohyaLoraSaveDtype.Float16) => new()
    {
        OutputName = "cat-lora",
        GlobalStep = 1500,
        Epoch = 3,
        LearningRate = 1e-4,
        UNetLearningRate = 1e-4,
        TextEncoderLearningRate = 5e-05,
        LrScheduler = "cosine",
        LrWarmupSteps = 50,
        Optimizer = "AdamW",
        Seed = 42,
        MaxTrainSteps = 3000,
        NoiseOffset = 0.05,
        SessionId = KohyaLoraExportSettings.SessionIdFrom("run-1"),
        TrainingStartedAt = new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero),
        TrainingFinishedAt = new DateTimeOffset(2026, 11, 25, 10, 30, 15, 125, TimeSpan.FromHours(1)),
        TagFrequencyJson = "{\"10_sks cat\": {\"sks\": 10}}",
        SaveDtype = dtype,
        ImplementationVersion = "KohyaPS/0.1.0",
        ExtraMetadata = new Dictionary<string, string> { ["kohyaps.run_id"] = "run-1" },
    };

    /// <summary>Our tensors for three modules (one Conv2d 1×1), rank 4, alpha 2; <paramref name="bigRows"/> makes the data exceed 1 MiB.</summary>
    private static Dictionary<string, Tensor> OurTensors(int bigRows = 8)
    {
        var g = new Generator(11);
        Tensor R(params long[] shape) => torch.randn(shape, generator: g) * 0.05f;
        return new Dictionary<string, Tensor>
        {
            [$"unet.{Attn}.lora_down.weight"] = R(4, 320),
            [$"unet.{Attn}.lora_up.weight"] = R(320, 4),
            [$"unet.{Attn}.alpha"] = torch.tensor(2.0f),
            [$"unet.{ProjIn}.lora_down.weight"] = R(4, 320, 1, 1),
            [$"unet.{ProjIn}.lora_up.weight"] = R(320, 4, 1, 1),
            [$"unet.{ProjIn}.alpha"] = torch.tensor(2.0),
            [$"text_encoder.{Q}.lora_down.weight"] = R(4, 768 * bigRows),
            [$"text_encoder.{Q}.lora_up.weight"] = R(768, 4),
            [$"text_encoder.{Q}.alpha"] = torch.tensor(new[] { 2.0f }),
        };
    }

    public static TheoryData<KohyaLoraSaveDtype, string> Dtypes => new()
    {
        { KohyaLoraSaveDtype.Float32, "F32" }, { KohyaLoraSaveDtype.Float16, "F16" }, { KohyaLoraSaveDtype.BFloat16, "BF16" },
    };

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void ExportReadsBackWithNamesValuesMetadataAndMatchingHashes(KohyaLoraSaveDtype dtype, string fileDtype)
    {
        var tensors = OurTensors(bigRows: 100); // 4 x 76800 floats: the legacy window lands in the data
        string path = PathFor("cat-lora.safetensors");
        var result = KohyaLoraExporter.Export(path, tensors, Map, Settings(dtype));

        Assert.Equal(9, result.TensorCount);
        Assert.Equal(3, result.ModuleCount);
        Assert.Equal((4, 2.0), (result.NetworkDim, result.NetworkAlpha));
        Assert.NotNull(result.LegacyHash);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(Root).Select(Path.GetFileName)); // no temp file left

        var info = KohyaLoraReader.Read(path);
        Assert.Empty(info.Findings);
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
        Assert.Equal(KohyaHashCheck.Match, info.LegacyHashCheck);
        Assert.Equal(result.ModelHash, info.ComputedModelHash);
        Assert.Equal((4, "Metadata", 2.0), (info.NetworkDim, info.NetworkDimSource, info.NetworkAlpha));
        Assert.Equal((2, 1), (info.UNetModuleCount, info.TextEncoderModuleCount));
        Assert.Equal(1500, info.Steps);
        Assert.Equal(3, info.Epoch);
        Assert.Equal("networks.lora", info.NetworkModule);
        Assert.Equal("sd_v1", info.BaseModelVersion);
        Assert.Equal(Settings().TrainingStartedAt, info.TrainingStartedAt);
        Assert.Equal(Settings().TrainingFinishedAt, info.TrainingFinishedAt);

        var m = info.Metadata;
        Assert.Equal("0.0001", m["ss_learning_rate"]);
        Assert.Equal("5e-05", m["ss_text_encoder_lr"]);
        Assert.Equal("4", m["ss_network_dim"]);
        Assert.Equal("2.0", m["ss_network_alpha"]);
        Assert.Equal("None", m["ss_min_snr_gamma"]);
        Assert.Equal("0.05", m["ss_noise_offset"]);
        Assert.Equal("False", m["ss_v2"]);
        Assert.Equal("1795597200.0", m["ss_training_started_at"]);
        Assert.Equal("1795599015.125", m["ss_training_finished_at"]);
        Assert.Equal("stable-diffusion-v1/lora", m["modelspec.architecture"]);
        Assert.Equal("diffusers", m["modelspec.implementation"]);
        Assert.Equal("1.0.1", m["modelspec.sai_model_spec"]);
        Assert.Equal("cat-lora", m["modelspec.title"]);
        Assert.Equal("2026-11-25T10:30:15", m["modelspec.date"]);
        Assert.Equal("512x512", m["modelspec.resolution"]);
        Assert.Equal("epsilon", m["modelspec.prediction_type"]);
        Assert.Equal("run-1", m["kohyaps.run_id"]);
        Assert.Equal(Settings().TagFrequencyJson, m["ss_tag_frequency"]);

        using var file = SafetensorsFile.Open(path);
        foreach (var (ours, original) in tensors)
        {
            string kohya = Map.ToKohyaName(ours);
            var entry = file.Header.GetEntry(kohya);
            using var read = file.ReadTensor(kohya);
            if (ours.EndsWith(".alpha", StringComparison.Ordinal))
            {
                Assert.Equal("F32", entry.Dtype.GetName());
                Assert.Empty(entry.Shape);
                Assert.Equal(2.0f, read.item<float>());
                continue;
            }
            Assert.Equal(fileDtype, entry.Dtype.GetName());
            Assert.Equal(original.shape, read.shape);
            using var expected = original.to_type(read.dtype);
            Assert.True(read.equal(expected).all().item<bool>(), ours); // bitwise the same conversion
        }
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void ExportedHashesEqualThoseOfAnIndependentlyBuiltPythonImage()
    {
        var result = KohyaLoraExporter.Export(PathFor("x.safetensors"), OurTensors(bigRows: 100), Map, Settings());
        byte[] file = File.ReadAllBytes(result.Path);
        var header = SafetensorsHeader.Parse(file, "x");
        var python = new LoraFileBuilder();
        foreach (var (key, value) in header.Metadata.Where(kv => kv.Key.StartsWith("ss_", StringComparison.Ordinal)))
            python.Meta(key, value);
        foreach (var e in header.Entries)
            python.Tensor(e.Name, e.Dtype.GetName(), e.GetShape(), file[(int)(header.DataStart + e.Begin)..(int)(header.DataStart + e.End)]);
        byte[] image = python.Build(hashes: false);
        Assert.Equal(LoraFileBuilder.ModelHash(image), result.ModelHash);
        Assert.Equal(LoraFileBuilder.LegacyHash(image), result.LegacyHash);
        Assert.Equal(result.ModelHash, header.Metadata["sshs_model_hash"]);
        Assert.Equal(result.LegacyHash, header.Metadata["sshs_legacy_hash"]);
    }

    [Fact]
    public void AFlippedByteInTheDataOfAnExportedFileIsAMismatch()
    {
        string path = PathFor("x.safetensors");
        KohyaLoraExporter.Export(path, OurTensors(), Map, Settings());
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 1;
        File.WriteAllBytes(path, bytes);
        var info = KohyaLoraReader.Read(path);
        Assert.Equal(KohyaHashCheck.Mismatch, info.ModelHashCheck);
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraHashMismatch);
    }

    [Fact]
    public void SdxlNamesAndMetadata()
    {
        var map = new KohyaLoraKeyMap([Attn], [Q], [Q], KohyaTextEncoderNaming.Sdxl);
        var t = OurTensors();
        var tensors = new Dictionary<string, Tensor>(t.Where(kv => !kv.Key.Contains(ProjIn, StringComparison.Ordinal)));
        foreach (var (k, v) in t.Where(kv => kv.Key.StartsWith("text_encoder.", StringComparison.Ordinal)))
            tensors["text_encoder_2." + k["text_encoder.".Length..]] = v;
        string path = PathFor("xl.safetensors");
        KohyaLoraExporter.Export(path, tensors, map, Settings() with { BaseModel = KohyaBaseModel.StableDiffusionXL });
        var info = KohyaLoraReader.Read(path);
        Assert.Empty(info.Findings);
        Assert.Equal(["lora_te1_text_model_encoder_layers_0_self_attn_q_proj", "lora_te2_text_model_encoder_layers_0_self_attn_q_proj",
            "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"], info.Modules.Select(x => x.Name));
        Assert.Equal("sdxl_base_v1-0", info.BaseModelVersion);
        Assert.Equal("stable-diffusion-xl-v1-base/lora", info.ModelSpec["modelspec.architecture"]);
        Assert.Equal("1024x1024", info.ModelSpec["modelspec.resolution"]);
    }

    [Fact]
    public void AnExistingFileIsKeptUnlessOverwriteIsAsked()
    {
        string path = Write("x.safetensors", [1, 2, 3]);
        var ex = Assert.Throws<KohyaException>(() => KohyaLoraExporter.Export(path, OurTensors(), Map, Settings()));
        Assert.Equal(InteropErrorIds.ExportExists, ex.ErrorId);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        KohyaLoraExporter.Export(path, OurTensors(), Map, Settings(), overwrite: true);
        Assert.Equal(KohyaHashCheck.Match, KohyaLoraReader.Read(path).ModelHashCheck);
    }

    [Fact]
    public void AFailedExportLeavesTheTargetUntouchedAndNoTempFile()
    {
        string path = Write("x.safetensors", [9, 9]);
        var tensors = OurTensors();
        tensors[$"unet.{Attn}.lora_up.weight"] = torch.full(new long[] { 320, 4 }, 1e6f); // beyond float16
        var ex = Assert.Throws<KohyaException>(() => KohyaLoraExporter.Export(path, tensors, Map, Settings(), overwrite: true));
        Assert.Equal(InteropErrorIds.ExportInvalid, ex.ErrorId);
        Assert.Contains("Float16", ex.Message, StringComparison.Ordinal);
        Assert.Equal([9, 9], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Root));
    }

    public static TheoryData<string, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>>> BadTensors => new()
    {
        { "missing up", t => { t.Remove($"unet.{Attn}.lora_up.weight"); return t; } },
        { "rank mismatch", t => { t[$"unet.{Attn}.lora_up.weight"] = torch.zeros(320, 8); return t; } },
        { "3-D weight", t => { t[$"unet.{Attn}.lora_down.weight"] = torch.zeros(4, 2, 160); return t; } },
        { "NaN", t => { t[$"text_encoder.{Q}.lora_up.weight"] = torch.full(new long[] { 768, 4 }, float.NaN); return t; } },
        { "integer weight", t => { t[$"unet.{Attn}.lora_down.weight"] = torch.zeros(new long[] { 4, 320 }, ScalarType.Int64); return t; } },
        { "vector alpha", t => { t[$"unet.{Attn}.alpha"] = torch.ones(2); return t; } },
        { "missing alpha", t => { t.Remove($"unet.{Attn}.alpha"); return t; } },
        { "nothing", t => new Dictionary<string, Tensor>() },
        { "ranks differ", t => { t[$"unet.{Attn}.lora_down.weight"] = torch.zeros(2, 320); t[$"unet.{Attn}.lora_up.weight"] = torch.zeros(320, 2); return t; } },
    };

    [Theory]
    [MemberData(nameof(BadTensors))]
    public void TensorsThatCannotMakeALoraAreRefused(string _, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> change)
    {
        var ex = Assert.Throws<KohyaException>(() => KohyaLoraExporter.Export(PathFor("x.safetensors"), change(OurTensors()), Map, Settings()));
        Assert.Equal(InteropErrorIds.ExportInvalid, ex.ErrorId);
        Assert.Empty(Directory.GetFiles(Root));
    }

    [Fact]
    public void MissingAlphaAndVaryingRanksWorkWithExplicitSettings()
    {
        var t = OurTensors();
        t.Remove($"unet.{Attn}.alpha");
        t[$"unet.{ProjIn}.lora_down.weight"] = torch.zeros(2, 320, 1, 1);
        t[$"unet.{ProjIn}.lora_up.weight"] = torch.zeros(320, 2, 1, 1);
        var result = KohyaLoraExporter.Export(PathFor("x.safetensors"), t, Map, Settings() with { NetworkDim = 4, NetworkAlpha = 2 });
        Assert.Equal((4, 2.0), (result.NetworkDim, result.NetworkAlpha));
        var info = KohyaLoraReader.Read(result.Path);
        Assert.Equal([2, 4], info.Ranks);
        Assert.All(info.Modules, m => Assert.Equal(2.0, m.Alpha));
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
    }

    [Fact]
    public void UnknownModulesAndBadSettingsAreRefused()
    {
        var t = OurTensors();
        t["unet.up_blocks.9.nothing.alpha"] = torch.tensor(1f);
        Assert.Equal(InteropErrorIds.KeyNotMapped, Assert.Throws<KohyaException>(() => KohyaLoraExporter.Export(PathFor("a.safetensors"), t, Map, Settings())).ErrorId);

        foreach (var bad in new[]
        {
            Settings() with { OutputName = " " }, Settings() with { GlobalStep = -1 }, Settings() with { LearningRate = double.NaN },
            Settings() with { TagFrequencyJson = "{not json" }, Settings() with { NetworkDim = 16 }, Settings() with { NetworkAlpha = 3 },
            Settings() with { ExtraMetadata = new Dictionary<string, string> { ["ss_steps"] = "1" } },
            Settings() with { TrainingFinishedAt = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero) },
            Settings() with { Resolution = "big" },
        })
        {
            var ex = Assert.Throws<KohyaException>(() => KohyaLoraExporter.Export(PathFor("a.safetensors"), OurTensors(), Map, bad));
            Assert.Equal(InteropErrorIds.ExportInvalid, ex.ErrorId);
        }
        Assert.Equal(InteropErrorIds.ExportInvalid,
            Assert.Throws<KohyaException>(() => KohyaLoraExporter.Export(PathFor("a.ckpt"), OurTensors(), Map, Settings())).ErrorId);
        Assert.Equal(InteropErrorIds.PathNotFound,
            Assert.Throws<KohyaException>(() => KohyaLoraExporter.Export(PathFor("no", "a.safetensors"), OurTensors(), Map, Settings())).ErrorId);
        Assert.Empty(Directory.GetFiles(Root));
    }

    [Fact]
    public void LegacyHashIsOmittedOnlyWhenTheHeaderReachesTheWindow()
    {
        // A 1.1 MB tag-frequency string pushes the header past 1 MiB: the legacy hash cannot be reproduced.
        string huge = "{\"t\": \"" + new string('x', 1_100_000) + "\"}";
        var result = KohyaLoraExporter.Export(PathFor("x.safetensors"), OurTensors(), Map, Settings() with { TagFrequencyJson = huge });
        Assert.Null(result.LegacyHash);
        var info = KohyaLoraReader.Read(result.Path);
        Assert.Equal(KohyaHashCheck.Absent, info.LegacyHashCheck);
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
    }

    [Fact]
    public void ExportsFromOneOfOurModelFiles()
    {
        var tensors = OurTensors();
        tensors["kohyaps.not_a_lora_tensor"] = torch.zeros(3);
        string model = PathFor("model.safetensors");
        SafetensorsWriter.Write(model, tensors, new Dictionary<string, string> { ["ss_steps"] = "1500" });
        var result = KohyaLoraExporter.ExportFromFile(model, PathFor("out.safetensors"), Map, Settings(KohyaLoraSaveDtype.Float32));
        Assert.Equal(9, result.TensorCount);
        using var file = SafetensorsFile.Open(result.Path);
        using var up = file.ReadTensor(Map.ToKohyaName($"unet.{Attn}.lora_up.weight"));
        Assert.True(up.equal(tensors[$"unet.{Attn}.lora_up.weight"]).all().item<bool>());
        Assert.Equal(InteropErrorIds.PathNotFound,
            Assert.Throws<KohyaException>(() => KohyaLoraExporter.ExportFromFile(PathFor("none.safetensors"), PathFor("o2.safetensors"), Map, Settings())).ErrorId);
    }

    [Fact]
    public void SessionIdIsStableAndInRange()
    {
        Assert.Equal(KohyaLoraExportSettings.SessionIdFrom("abc"), KohyaLoraExportSettings.SessionIdFrom("abc"));
        Assert.NotEqual(KohyaLoraExportSettings.SessionIdFrom("abc"), KohyaLoraExportSettings.SessionIdFrom("abd"));
        Assert.InRange(KohyaLoraExportSettings.SessionIdFrom("abc"), 0, uint.MaxValue);
    }
}
