using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Interop;
using KohyaPS.Engine.LoraExport;
using KohyaPS.Tests.Checkpoints.Verification;
using KohyaPS.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.LoraExport;

/// <summary>Export-KohyaLora's engine on a real trained checkpoint: extraction, the direct path, metadata and refusals.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class CheckpointLoraExportTests : IClassFixture<VerifierFixture>
{
    private readonly VerifierFixture _fixture;

    public CheckpointLoraExportTests(VerifierFixture fixture) => _fixture = fixture;

    private string Output(string name) => Path.Combine(_fixture.Root, name + ".safetensors");

    private KohyaLoraInfo Export(string checkpoint, string name, int rank = 4, KohyaLoraSaveDtype dtype = KohyaLoraSaveDtype.Float32) =>
        CheckpointLoraExport.Export(new LoraExportRequest { CheckpointPath = checkpoint, OutputPath = Output(name), Rank = rank, Dtype = dtype });

    [Fact]
    public void ExtractedLoraCarriesTheCumulativeStepTheRunAndMatchingHashes()
    {
        var info = Export(_fixture.Source, "extracted");
        var state = CheckpointState.Parse(File.ReadAllText(Path.Combine(_fixture.Source, CheckpointNames.StateFile)), "state");
        Assert.True(info.IsValid, string.Join("\n", info.Findings));
        Assert.Equal(KohyaHashCheck.Match, info.ModelHashCheck);
        Assert.Equal(state.GlobalStep, info.Steps);
        Assert.Equal(4, info.NetworkDim);
        Assert.Equal(4.0, info.NetworkAlpha);
        Assert.Equal("networks.lora", info.NetworkModule);
        Assert.Equal(state.RunId, info.Metadata["kohyaps.run_id"]);
        Assert.Equal("extracted", info.Metadata["kohyaps.lora_source"]);
        Assert.True(info.UNetModuleCount > 0 && info.TextEncoderModuleCount > 0);
        Assert.Contains(info.Modules, m => m.Name.StartsWith("lora_te_text_model_encoder_layers_0_self_attn_", StringComparison.Ordinal));
        Assert.Contains(info.Modules, m => m.Name.Contains("_attentions_0_transformer_blocks_0_attn1_to_q", StringComparison.Ordinal));
        Assert.DoesNotContain(info.Modules, m => m.Name.Contains("resnets", StringComparison.Ordinal));
    }

    [Fact]
    public void FullRankExtractionReproducesWhatTrainingChanged()
    {
        // At full rank up·down·(alpha/rank) must equal trained - initial for every module (initial rebuilt from the seed).
        var info = Export(_fixture.Source, "full", rank: 512);
        Assert.True(double.Parse(info.Metadata["kohyaps.extraction_relative_error"], System.Globalization.CultureInfo.InvariantCulture) < 1e-4);
        var low = Export(_fixture.Source, "low", rank: 1);
        Assert.True(double.Parse(low.Metadata["kohyaps.extraction_relative_error"], System.Globalization.CultureInfo.InvariantCulture) > 1e-3,
            "a rank-1 LoRA should not reproduce every change");

        using var file = SafetensorsFile.Open(Output("full"));
        using var model = SafetensorsFile.Open(Path.Combine(_fixture.Source, CheckpointNames.ModelFile));
        using var scope = torch.NewDisposeScope();
        var down = file.ReadTensor("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight");
        var up = file.ReadTensor("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight");
        var trained = model.ReadTensor("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight");
        var delta = up.matmul(down);
        Assert.True(delta.abs().max().item<float>() > 0, "training changed the weight");
        Assert.Equal(trained.shape, delta.shape);
    }

    [Fact]
    public void LoraWeightsInACheckpointAreExportedAsTheyAre()
    {
        string dir = _fixture.Copy("direct");
        string modelPath = Path.Combine(dir, CheckpointNames.ModelFile);
        using var scope = torch.NewDisposeScope();
        var down = torch.randn(2, 32);
        var up = torch.randn(32, 2);
        Damage.EditTensors(modelPath, t =>
        {
            t["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_down.weight"] = down.clone(); // EditTensors disposes what it wrote
            t["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_up.weight"] = up.clone();
            t["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.alpha"] = torch.tensor(1.0f);
        });
        Damage.Rechecksum(dir);

        var info = Export(dir, "direct");
        Assert.Equal("trained", info.Metadata["kohyaps.lora_source"]);
        var module = Assert.Single(info.Modules);
        Assert.Equal("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q", module.Name);
        using var file = SafetensorsFile.Open(Output("direct"));
        Assert.Equal(down.data<float>().ToArray(), file.ReadTensor(module.Name + ".lora_down.weight").data<float>().ToArray());
        Assert.Equal(up.data<float>().ToArray(), file.ReadTensor(module.Name + ".lora_up.weight").data<float>().ToArray());
    }

    [Fact]
    public void ADamagedCheckpointIsRefusedAndNothingIsWritten()
    {
        string dir = _fixture.Copy("damaged");
        Damage.FlipBit(Path.Combine(dir, CheckpointNames.ModelFile), n => n - 3);
        var error = Assert.Throws<KohyaException>(() => Export(dir, "never"));
        Assert.Equal("CheckpointInvalid", error.ErrorId);
        Assert.False(File.Exists(Output("never")));
    }

    [Fact]
    public void AnExistingFileIsKeptUnlessOverwriteIsAsked()
    {
        Export(_fixture.Source, "twice");
        byte[] before = File.ReadAllBytes(Output("twice"));
        var error = Assert.Throws<KohyaException>(() => Export(_fixture.Source, "twice", rank: 2));
        Assert.Equal(InteropErrorIds.ExportExists, error.ErrorId);
        Assert.Equal(before, File.ReadAllBytes(Output("twice")));
        var replaced = CheckpointLoraExport.Export(new LoraExportRequest { CheckpointPath = _fixture.Source, OutputPath = Output("twice"), Rank = 2, Overwrite = true });
        Assert.Equal(2, replaced.NetworkDim);
        Assert.Empty(Directory.GetFiles(_fixture.Root, ".twice*"));
    }

    [Fact]
    public void ExportDrawsNoRandomNumbersFromTheCallersStream()
    {
        torch.manual_seed(99);
        using var before = torch.rand(3);
        torch.manual_seed(99);
        Export(_fixture.Source, "rng");
        using var after = torch.rand(3);
        Assert.Equal(before.data<float>().ToArray(), after.data<float>().ToArray());
    }
}
