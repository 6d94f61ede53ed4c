using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Interop;

namespace KohyaPS.Tests.Interop;

public sealed class KohyaLoraReaderTests : InteropTempFolder
{
    private const string Down = "lora_unet_down_blocks_0_attentions_0_proj_in";
    private const string Attn = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q";
    private const string Te = "lora_te_text_model_encoder_layers_0_self_attn_q_proj";

    /// <summary>An sd-scripts-style file: three modules, the metadata train_network.py writes, both hashes.</summary>
    private static LoraFileBuilder SdScriptsFile() => new LoraFileBuilder()
        .Linear(Down, rank: 4, inDim: 32, outDim: 32, alpha: 2)
        .Linear(Attn, rank: 4, inDim: 64, outDim: 64, alpha: 2, seed: 5)
        .Linear(Te, rank: 4, inDim: 48, outDim: 48, alpha: 2, seed: 9)
        .Meta("ss_session_id", "3141592653")
        .Meta("ss_training_started_at", "1732550400.5")
        .Meta("ss_output_name", "cat-lora")
        .Meta("ss_learning_rate", "0.0001")
        .Meta("ss_unet_lr", "None")
        .Meta("ss_network_module", "networks.lora")
        .Meta("ss_network_dim", "4")
        .Meta("ss_network_alpha", "2.0")
        .Meta("ss_base_model_version", "sd_v1")
        .Meta("ss_tag_frequency", "{\"10_sks cat\": {\"sks\": 12, \"cat\": 12}}")
        .Meta("ss_training_finished_at", "1732554000.25")
        .Meta("ss_steps", "1200")
        .Meta("ss_epoch", "6")
        .Meta("modelspec.sai_model_spec", "1.0.1")
        .Meta("modelspec.architecture", "stable-diffusion-v1/lora")
        .Meta("modelspec.title", "cat-lora");

    [Fact]
    public void DescribesAnSdScriptsFile()
    {
        string path = Write("cat.safetensors", SdScriptsFile().Build());
        var info = KohyaLoraReader.Read(path);

        Assert.True(info.IsValid, string.Join("\n", info.Findings));
        Assert.Empty(info.Findings);
        Assert.Equal(9, info.TensorCount);
        Assert.Equal(2, info.UNetModuleCount);
        Assert.Equal(1, info.TextEncoderModuleCount);
        Assert.Equal(4, info.NetworkDim);
        Assert.Equal("Metadata", info.NetworkDimSource);
        Assert.Equal([4], info.Ranks);
        Assert.Equal(2.0, info.NetworkAlpha);
        Assert.Equal([2.0], info.AlphaValues);
        Assert.Equal(1200, info.Steps);
        Assert.Equal(6, info.Epoch);
        Assert.Equal(0.0001, info.LearningRate);
        Assert.Equal("networks.lora", info.NetworkModule);
        Assert.Equal("sd_v1", info.BaseModelVersion);
        Assert.Equal("cat-lora", info.OutputName);
        Assert.Equal(new DateTimeOffset(2024, 11, 25, 16, 0, 0, 500, TimeSpan.Zero), info.TrainingStartedAt);
        Assert.Equal(new DateTimeOffset(2024, 11, 25, 17, 0, 0, 250, TimeSpan.Zero), info.TrainingFinishedAt);
        Assert.Equal("None", info.TrainingMetadata["ss_unet_lr"]);
        Assert.Equal(3, info.ModelSpec.Count);
        Assert.DoesNotContain("sshs_model_hash", info.TrainingMetadata.Keys);
        Assert.Contains("sshs_model_hash", info.Metadata.Keys);
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
        Assert.Equal(KohyaHashCheck.Match, info.LegacyHashCheck);
        Assert.Equal(info.StoredModelHash, info.ComputedModelHash);
        var module = Assert.Single(info.Modules, m => m.Name == Te);
        Assert.Equal((KohyaLoraComponent.TextEncoder, 4, 2.0, false), (module.Component, module.Rank, module.Alpha, module.IsConvolution));
    }

    [Fact]
    public void LegacyHashMatchesWhenTheWindowLiesInTheData()
    {
        // 8 x 40000 F32 = 1.28 MB of lora_down: the window [1 MiB, 1 MiB + 64 KiB) falls inside the data.
        string path = Write("big.safetensors", SdScriptsFile().Linear("lora_unet_conv_in", 8, 40000, 16, 8, "F32").Build());
        var info = KohyaLoraReader.Read(path);
        Assert.Equal(KohyaHashCheck.Match, info.LegacyHashCheck);
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
        Assert.NotEqual("e3b0c442", info.ComputedLegacyHash); // not the hash of an empty window
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraRanksVary && f.Severity == KohyaFindingSeverity.Information);
    }

    [Fact]
    public void AFlippedDataByteIsAMismatch()
    {
        byte[] bytes = SdScriptsFile().Build();
        bytes[^3] ^= 0x40;
        var info = KohyaLoraReader.Read(Write("flipped.safetensors", bytes));
        Assert.Equal(KohyaHashCheck.Mismatch, info.ModelHashCheck);
        Assert.NotEqual(info.StoredModelHash, info.ComputedModelHash);
        var finding = Assert.Single(info.Findings, f => f.ErrorId == InteropErrorIds.LoraHashMismatch);
        Assert.Equal(KohyaFindingSeverity.Error, finding.Severity);
        Assert.False(info.IsValid);
    }

    [Fact]
    public void EditedNonTrainingMetadataKeepsTheHashes()
    {
        // Tools add modelspec/user keys after training; the data hash and the ss_-only legacy hash do not change.
        var builder = SdScriptsFile();
        string hash = LoraFileBuilder.ModelHash(builder.Build(hashes: false));
        byte[] withHashes = builder.Build();
        var stored = KohyaLoraReader.Read(Write("a.safetensors", withHashes)).StoredModelHash;
        Assert.Equal(hash, stored);
        string edited = Write("b.safetensors", Rebuild(withHashes, b => b.Meta("modelspec.description", "a cat, by someone \"quoted\"")));
        var info = KohyaLoraReader.Read(edited);
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
        Assert.Equal(KohyaHashCheck.Match, info.LegacyHashCheck);
    }

    [Fact]
    public void WithoutVerificationTheHashesAreNotChecked()
    {
        byte[] bytes = SdScriptsFile().Build();
        bytes[^3] ^= 0x40;
        var info = KohyaLoraReader.Read(Write("x.safetensors", bytes), verifyHashes: false);
        Assert.Equal(KohyaHashCheck.NotChecked, info.ModelHashCheck);
        Assert.Equal(KohyaHashCheck.NotChecked, info.LegacyHashCheck);
        Assert.Null(info.ComputedModelHash);
        Assert.True(info.IsValid);
    }

    [Fact]
    public void NoHashesAreAbsent()
    {
        var info = KohyaLoraReader.Read(Write("x.safetensors", SdScriptsFile().Build(hashes: false)));
        Assert.Equal(KohyaHashCheck.Absent, info.ModelHashCheck);
        Assert.Equal(KohyaHashCheck.Absent, info.LegacyHashCheck);
        Assert.True(info.IsValid);
    }

    [Fact]
    public void MissingUpWeightIsAnErrorFinding()
    {
        var info = KohyaLoraReader.Read(Write("x.safetensors", SdScriptsFile().Remove(Attn + ".lora_up.weight").Build()));
        var finding = Assert.Single(info.Findings, f => f.ErrorId == InteropErrorIds.LoraMissingUp);
        Assert.Equal(Attn, finding.Target);
        Assert.False(info.IsValid);
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
    }

    [Fact]
    public void MissingDownAndAlphaAreReported()
    {
        var info = KohyaLoraReader.Read(Write("x.safetensors", SdScriptsFile().Remove(Te + ".lora_down.weight").Remove(Down + ".alpha").Build()));
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraMissingDown && f.Target == Te);
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraMissingAlpha && f.Severity == KohyaFindingSeverity.Warning);
    }

    [Fact]
    public void RankMismatchBetweenDownAndUpIsAnError()
    {
        var builder = SdScriptsFile().Remove(Attn + ".lora_up.weight")
            .Tensor(Attn + ".lora_up.weight", "F16", [64, 8], LoraFileBuilder.Values("F16", 512, 3));
        var info = KohyaLoraReader.Read(Write("x.safetensors", builder.Build()));
        var finding = Assert.Single(info.Findings, f => f.ErrorId == InteropErrorIds.LoraRankMismatch);
        Assert.Contains("rank 4", finding.Message, StringComparison.Ordinal);
        Assert.Contains("rank 8", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DimDisagreeingWithTheTensorsAndVaryingRanksAreReported()
    {
        var builder = SdScriptsFile().Meta("ss_network_dim", "16").Linear("lora_unet_conv_out", 2, 8, 8, 2);
        var info = KohyaLoraReader.Read(Write("x.safetensors", builder.Build()));
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraDimMismatch && f.Severity == KohyaFindingSeverity.Warning);
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraRanksVary);
        Assert.Equal([2, 4], info.Ranks);
        Assert.Equal(16, info.NetworkDim);
        Assert.True(info.IsValid);

        var noMeta = KohyaLoraReader.Read(Write("y.safetensors", new LoraFileBuilder().Linear("lora_unet_a", 8, 4, 4, 4).Linear("lora_unet_b", 8, 4, 4, 4).Linear("lora_unet_c", 2, 4, 4, 1).Build()));
        Assert.Equal(8, noMeta.NetworkDim);
        Assert.Equal("Tensors", noMeta.NetworkDimSource);
        Assert.Equal(4.0, noMeta.NetworkAlpha);
    }

    [Fact]
    public void NoLoraKeysIsAnError()
    {
        var info = KohyaLoraReader.Read(Write("x.safetensors", new LoraFileBuilder()
            .Tensor("model.diffusion_model.input_blocks.0.0.weight", "F16", [4, 4], LoraFileBuilder.Values("F16", 16, 1)).Build()));
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraNoModules && f.Severity == KohyaFindingSeverity.Error);
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraUnrecognizedTensor);
        Assert.Empty(info.Modules);
        Assert.Null(info.NetworkDim);
        Assert.Equal("None", info.NetworkDimSource);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void NonFiniteAlphaIsAnError(float alpha)
    {
        var builder = SdScriptsFile().Remove(Down + ".alpha").Tensor(Down + ".alpha", "F32", [], LoraFileBuilder.Encode("F32", alpha));
        var info = KohyaLoraReader.Read(Write("x.safetensors", builder.Build()));
        var finding = Assert.Single(info.Findings, f => f.ErrorId == InteropErrorIds.LoraAlphaNotFinite);
        Assert.Equal(Down + ".alpha", finding.Target);
        Assert.Equal([2.0], info.AlphaValues);
    }

    [Fact]
    public void ShapesAndDtypesThatCannotBeLoraAreErrors()
    {
        var builder = SdScriptsFile()
            .Remove(Down + ".lora_down.weight").Tensor(Down + ".lora_down.weight", "F16", [4, 2, 16], LoraFileBuilder.Values("F16", 128, 2))
            .Remove(Te + ".lora_up.weight").Tensor(Te + ".lora_up.weight", "I64", [48, 4], new byte[48 * 4 * 8])
            .Remove(Attn + ".alpha").Tensor(Attn + ".alpha", "F16", [2], LoraFileBuilder.Values("F16", 2, 1));
        var info = KohyaLoraReader.Read(Write("x.safetensors", builder.Build()));
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraUnexpectedShape && f.Target == Down + ".lora_down.weight");
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraUnexpectedDtype && f.Target == Te + ".lora_up.weight");
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraUnexpectedShape && f.Target == Attn + ".alpha");
    }

    [Fact]
    public void ConvolutionModulesAndOtherDtypesAreRead()
    {
        var builder = new LoraFileBuilder()
            .Tensor("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight", "BF16", [4, 8, 3, 3], LoraFileBuilder.Values("BF16", 288, 1))
            .Tensor("lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight", "BF16", [8, 4, 1, 1], LoraFileBuilder.Values("BF16", 32, 2))
            .Tensor("lora_unet_down_blocks_0_resnets_0_conv1.alpha", "BF16", [], LoraFileBuilder.Encode("BF16", 1.5f))
            .Linear("lora_te1_text_model_encoder_layers_0_mlp_fc1", 4, 8, 8, 4, "F32")
            .Linear("lora_te2_text_model_encoder_layers_0_mlp_fc1", 4, 8, 8, 4, "F32")
            .Meta("ss_network_alpha", "4.0")
            .Meta("ss_steps", "twelve");
        var info = KohyaLoraReader.Read(Write("x.safetensors", builder.Build()));
        var conv = Assert.Single(info.Modules, m => m.IsConvolution);
        Assert.Equal((4, 1.5), (conv.Rank, conv.Alpha));
        Assert.Equal(2, info.TextEncoderModuleCount);
        Assert.Equal([1.5, 4.0], info.AlphaValues);
        Assert.Null(info.Steps);
        Assert.Contains(info.Findings, f => f.ErrorId == InteropErrorIds.LoraMetadataInvalid && f.Target == "ss_steps");
        Assert.DoesNotContain(info.Findings, f => f.ErrorId == InteropErrorIds.LoraAlphaMismatch);
        Assert.True(info.IsValid);
    }

    [Fact]
    public void FormatViolationsAreSafetensorsErrorsAndAMissingFileIsNotFound()
    {
        byte[] bytes = SdScriptsFile().Build();
        var truncated = Assert.Throws<SafetensorsFormatException>(() => KohyaLoraReader.Read(Write("t.safetensors", bytes[..^10])));
        Assert.Contains(truncated.ErrorId, new[] { SafetensorsErrorIds.OffsetsOutOfBounds, SafetensorsErrorIds.Truncated });
        var missing = Assert.Throws<KohyaException>(() => KohyaLoraReader.Read(PathFor("nope.safetensors")));
        Assert.Equal(InteropErrorIds.PathNotFound, missing.ErrorId);
    }

    /// <summary>Rewrites a file's metadata (keeping the data and the sshs values) through the builder.</summary>
    private static byte[] Rebuild(byte[] file, Func<LoraFileBuilder, LoraFileBuilder> change)
    {
        var header = SafetensorsHeader.Parse(file, "rebuild");
        var builder = new LoraFileBuilder();
        foreach (var (k, v) in header.Metadata)
            builder.Meta(k, v);
        foreach (var e in header.Entries)
            builder.Tensor(e.Name, e.Dtype.GetName(), e.GetShape(), file[(int)(header.DataStart + e.Begin)..(int)(header.DataStart + e.End)]);
        return change(builder).Build(hashes: false);
    }
}
