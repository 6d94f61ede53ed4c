using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Interop;

namespace KohyaPS.Tests.Interop;

public sealed class ForeignCheckpointDetectorTests : InteropTempFolder
{
    private static readonly byte[] Pickle = [0x80, 0x04, 0x95, 1, 2, 3, 4, 5, 0x2E]; // pickle-looking bytes: never opened

    /// <summary>A LoRA state dict as accelerate saves it in sd-scripts' state folder: kohya names, metadata {"format": "pt"}.</summary>
    private static byte[] StateModel() => new LoraFileBuilder()
        .Linear("lora_unet_down_blocks_0_attentions_0_proj_in", 4, 16, 16, 1, "F32")
        .Linear("lora_te_text_model_encoder_layers_0_mlp_fc1", 4, 16, 16, 1, "F32")
        .Meta("format", "pt").Build(hashes: false);

    private string SdScriptsState(string name, string? trainState = "{\"current_epoch\": 2, \"current_step\": 400}", bool model = true,
        bool optimizer = true, bool scheduler = true, bool rng = true, string root = "")
    {
        string dir = Path.Combine(root, name);
        if (trainState is not null) WriteText(Path.Combine(dir, "train_state.json"), trainState);
        if (model) Write(Path.Combine(dir, "model.safetensors"), StateModel());
        if (optimizer) Write(Path.Combine(dir, "optimizer.bin"), Pickle);
        if (scheduler) Write(Path.Combine(dir, "scheduler.bin"), Pickle[..4]);
        if (rng) Write(Path.Combine(dir, "random_states_0.pkl"), Pickle[..6]);
        Directory.CreateDirectory(PathFor(dir));
        return PathFor(dir);
    }

    [Fact]
    public void AStepStateFolderIsDescribed()
    {
        string dir = SdScriptsState("cat-step00000400-state");
        Write("cat-step00000400-state/notes.txt", [1]);
        var info = ForeignCheckpointDetector.Inspect(dir)!;

        Assert.Equal(KohyaForeignFormat.SdScriptsState, info.Format);
        Assert.Equal(KohyaForeignFormat.SdScriptsState, ForeignCheckpointDetector.Recognize(dir));
        Assert.True(info.IsValid, string.Join("\n", info.Findings));
        Assert.Empty(info.Findings);
        Assert.Equal((400L, 2L), (info.Step, info.Epoch));
        Assert.Equal("model.safetensors", info.ModelFile);
        Assert.True(info.HasOptimizerState && info.HasSchedulerState);
        Assert.Equal(["random_states_0.pkl"], info.RandomStateFiles);
        Assert.Equal(["notes.txt"], info.ExtraFiles);
        Assert.Equal(Pickle.Length, info.Files.Single(f => f.RelativePath == "optimizer.bin").Length);
        Assert.Equal(6, info.Files.Count);
        Assert.Equal(info.Files.Sum(f => f.Length), info.SizeBytes);
        Assert.NotNull(info.Lora);
        Assert.Equal((1, 1), (info.Lora!.UNetModuleCount, info.Lora.TextEncoderModuleCount));
    }

    [Fact]
    public void EpochAndLastStateFoldersAreRecognisedAndNamesCrossChecked()
    {
        var epoch = ForeignCheckpointDetector.Inspect(SdScriptsState("cat-000002-state"))!;
        Assert.Empty(epoch.Findings);
        var last = ForeignCheckpointDetector.Inspect(SdScriptsState("cat-state"))!;
        Assert.Equal((400L, 2L), (last.Step, last.Epoch));

        var mismatch = ForeignCheckpointDetector.Inspect(SdScriptsState("cat-step00000500-state"))!;
        Assert.Contains(mismatch.Findings, f => f.ErrorId == InteropErrorIds.StateNameMismatch && f.Severity == KohyaFindingSeverity.Warning);
        Assert.Equal(400L, mismatch.Step); // train_state.json wins over the name

        var noJson = ForeignCheckpointDetector.Inspect(SdScriptsState("cat-step00000500-state", trainState: null, root: "old"))!;
        Assert.Equal(500L, noJson.Step);
        Assert.Null(noJson.Epoch);
        Assert.Contains(noJson.Findings, f => f.ErrorId == InteropErrorIds.StateTrainStateMissing);
        Assert.True(noJson.IsValid);
    }

    [Theory]
    [InlineData("{\"current_epoch\": \"2\", \"current_step\": 400}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": 2, \"current_step\": -400}", "SdScriptsTrainStateNegative")]
    [InlineData("{\"current_epoch\": 2}", "SdScriptsTrainStateMissingField")]
    [InlineData("not json", "SdScriptsTrainStateInvalidJson")]
    public void ABadTrainStateIsAnErrorFinding(string json, string errorId)
    {
        var info = ForeignCheckpointDetector.Inspect(SdScriptsState("cat-step00000400-state", json))!;
        var finding = Assert.Single(info.Findings);
        Assert.Equal((errorId, KohyaFindingSeverity.Error, "train_state.json"), (finding.ErrorId, finding.Severity, finding.Target));
        Assert.False(info.IsValid);
        Assert.Equal(400L, info.Step); // still known from the name
    }

    [Fact]
    public void MissingModelAndAccelerateFilesAreReported()
    {
        var info = ForeignCheckpointDetector.Inspect(SdScriptsState("cat-state", model: false, optimizer: false, scheduler: false, rng: false))!;
        Assert.Equal(
            [InteropErrorIds.StateModelMissing, InteropErrorIds.StateOptimizerMissing, InteropErrorIds.StateSchedulerMissing, InteropErrorIds.StateRandomStatesMissing],
            info.Findings.Select(f => f.ErrorId));
        Assert.False(info.IsValid);
        Assert.Null(info.ModelFile);

        string pickleOnly = SdScriptsState("dog-state", model: false);
        Write("dog-state/pytorch_model.bin", Pickle);
        var bin = ForeignCheckpointDetector.Inspect(pickleOnly)!;
        Assert.Equal("pytorch_model.bin", bin.ModelFile);
        Assert.Empty(bin.Findings);
        Assert.Null(bin.Lora);
    }

    [Fact]
    public void ADamagedModelIsTheSafetensorsErrorAsAFinding()
    {
        string dir = SdScriptsState("cat-state");
        byte[] model = StateModel();
        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), model[..^7]);
        var info = ForeignCheckpointDetector.Inspect(dir)!;
        var finding = Assert.Single(info.Findings);
        Assert.StartsWith("Safetensors", finding.ErrorId, StringComparison.Ordinal);
        Assert.Equal(KohyaFindingSeverity.Error, finding.Severity);
        Assert.Null(info.Lora);

        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), []);
        Assert.Equal(SafetensorsErrorIds.Truncated, Assert.Single(ForeignCheckpointDetector.Inspect(dir)!.Findings).ErrorId);
    }

    [Fact]
    public void DiffusersCheckpointFolders()
    {
        Write("checkpoint-1500/pytorch_lora_weights.safetensors", StateModel());
        Write("checkpoint-1500/optimizer.bin", Pickle);
        Write("checkpoint-1500/scheduler.bin", Pickle);
        Write("checkpoint-1500/random_states_0.pkl", Pickle);
        Write("checkpoint-1500/random_states_1.pkl", Pickle);
        Write("checkpoint-1500/unet/diffusion_pytorch_model.safetensors", [0]);
        Write("checkpoint-1500/unet/deeper/ignored.bin", [0]);
        var info = ForeignCheckpointDetector.Inspect(PathFor("checkpoint-1500"))!;
        Assert.Equal(KohyaForeignFormat.DiffusersCheckpoint, info.Format);
        Assert.Equal(1500L, info.Step);
        Assert.Equal("pytorch_lora_weights.safetensors", info.ModelFile);
        Assert.True(info.HasOptimizerState && info.HasSchedulerState);
        Assert.Equal(["random_states_0.pkl", "random_states_1.pkl"], info.RandomStateFiles);
        Assert.Contains(info.Files, f => f.RelativePath == "unet/diffusion_pytorch_model.safetensors");
        Assert.DoesNotContain(info.Files, f => f.RelativePath.Contains("deeper", StringComparison.Ordinal));
        Assert.Empty(info.Findings);

        Write("checkpoint-7/optimizer.bin", Pickle);
        var empty = ForeignCheckpointDetector.Inspect(PathFor("checkpoint-7"))!;
        Assert.Equal(InteropErrorIds.DiffusersNoWeights, Assert.Single(empty.Findings).ErrorId);
    }

    [Fact]
    public void OneTrainerBackups()
    {
        const string name = "2026-11-25_10-30-15-backup-1200-3-150";
        WriteText($"workspace/backup/{name}/meta.json",
            "{\"train_progress\": {\"epoch\": 3, \"epoch_step\": 150, \"epoch_sample\": 600, \"global_step\": 1200}}");
        Write($"workspace/backup/{name}/optimizer/optimizer.pt", Pickle);
        Write($"workspace/backup/{name}/lora/lora.safetensors", StateModel());
        WriteText($"workspace/backup/{name}/onetrainer_config/args.json", "{}");
        var info = ForeignCheckpointDetector.Inspect(PathFor("workspace", "backup", name))!;
        Assert.Equal(KohyaForeignFormat.OneTrainerBackup, info.Format);
        Assert.Equal((1200L, 3L, 150L), (info.Step, info.Epoch, info.EpochStep));
        Assert.Equal(new DateTime(2026, 11, 25, 10, 30, 15), info.Created);
        Assert.Equal("lora/lora.safetensors", info.ModelFile);
        Assert.True(info.HasOptimizerState);
        Assert.Empty(info.Findings);

        // Renamed folder: recognised by meta.json alone. Name without meta.json: recognised, with a warning.
        WriteText("renamed/meta.json", "{\"train_progress\": {\"epoch\": 1, \"epoch_step\": 2, \"epoch_sample\": 8, \"global_step\": 20}}");
        Assert.Equal(20L, ForeignCheckpointDetector.Inspect(PathFor("renamed"))!.Step);
        Write("2026-01-01_00-00-00-backup-5-0-5/x.bin", [1]);
        var noMeta = ForeignCheckpointDetector.Inspect(PathFor("2026-01-01_00-00-00-backup-5-0-5"))!;
        Assert.Equal(5L, noMeta.Step);
        Assert.Equal(InteropErrorIds.OneTrainerMetaInvalid, Assert.Single(noMeta.Findings).ErrorId);
    }

    [Fact]
    public void OtherFoldersAndFilesAreNotForeignCheckpoints()
    {
        Write("cat-s00000100/model.safetensors", StateModel()); // ours: not foreign
        Write("random/readme.txt", [1]);
        Write("estate/optimizer.bin", Pickle); // "-state" needs the hyphen
        Write("my-state/readme.txt", [1]); // state name but no state file
        Write("full.safetensors", new LoraFileBuilder().Tensor("model.diffusion_model.out.0.weight", "F16", [2], [0, 0, 0, 0]).Build(false));
        foreach (string p in new[] { "cat-s00000100", "random", "estate", "my-state" })
            Assert.Null(ForeignCheckpointDetector.Recognize(PathFor(p)));
        Assert.Null(ForeignCheckpointDetector.Inspect(PathFor("full.safetensors")));
        Assert.Null(ForeignCheckpointDetector.Inspect(PathFor("random", "readme.txt")));
        Assert.Equal(InteropErrorIds.PathNotFound, Assert.Throws<KohyaException>(() => ForeignCheckpointDetector.Inspect(PathFor("nope"))).ErrorId);
        Assert.Equal(InteropErrorIds.PathNotFound, Assert.Throws<KohyaException>(() => ForeignCheckpointDetector.Scan(PathFor("nope"))).ErrorId);
        Assert.Empty(ForeignCheckpointDetector.Scan(Root));
    }

    [Fact]
    public void ScanFindsTheFolderAndOneLevelBelowButNotDeeper()
    {
        Write("cat.safetensors", new LoraFileBuilder().Linear("lora_unet_a", 2, 4, 4, 1).Meta("ss_steps", "10").Build());
        SdScriptsState("cat-step00000400-state");
        SdScriptsState("cat-000002-state", root: "output");
        Write("output/cat-000002.safetensors", new LoraFileBuilder().Linear("lora_unet_a", 2, 4, 4, 1).Build());
        Write("output/broken.safetensors", [1, 2, 3]);
        Write("output/.cat.safetensors.tmp-123", [1, 2, 3]);
        WriteText("workspace/backup/2026-11-25_10-30-15-backup-1200-3-150/meta.json", "{}");
        Write("checkpoint-30/model.safetensors", StateModel());
        SdScriptsState("too-deep-state", root: Path.Combine("a", "b"));
        Write("a/b/deep.safetensors", new LoraFileBuilder().Linear("lora_unet_a", 2, 4, 4, 1).Build());

        var found = ForeignCheckpointDetector.Scan(Root);
        Assert.Equal(
            [
                ("cat-step00000400-state", KohyaForeignFormat.SdScriptsState), ("cat.safetensors", KohyaForeignFormat.KohyaLora),
                ("checkpoint-30", KohyaForeignFormat.DiffusersCheckpoint), ("broken.safetensors", KohyaForeignFormat.KohyaLora),
                ("cat-000002-state", KohyaForeignFormat.SdScriptsState), ("cat-000002.safetensors", KohyaForeignFormat.KohyaLora),
            ],
            found.Select(f => (f.Name, f.Format)));
        Assert.Equal(10L, found.Single(f => f.Name == "cat.safetensors").Step);
        var broken = found.Single(f => f.Name == "broken.safetensors");
        Assert.Equal(SafetensorsErrorIds.Truncated, Assert.Single(broken.Findings).ErrorId);
        Assert.Null(broken.Lora);

        // The backup is two levels below the root: found from workspace/, not from the root.
        var fromWorkspace = ForeignCheckpointDetector.Scan(PathFor("workspace"));
        Assert.Equal(KohyaForeignFormat.OneTrainerBackup, Assert.Single(fromWorkspace).Format);
    }

    [Fact]
    public void ScanVerifiesLoraHashesOnlyWhenAsked()
    {
        byte[] lora = new LoraFileBuilder().Linear("lora_unet_a", 2, 4, 4, 1).Meta("ss_steps", "10").Build();
        lora[^1] ^= 1;
        Write("cat.safetensors", lora);
        Assert.Equal(KohyaHashCheck.NotChecked, Assert.Single(ForeignCheckpointDetector.Scan(Root)).Lora!.ModelHashCheck);
        var verified = Assert.Single(ForeignCheckpointDetector.Scan(Root, verifyLoraHashes: true));
        Assert.Equal(KohyaHashCheck.Mismatch, verified.Lora!.ModelHashCheck);
        Assert.False(verified.IsValid);
    }
}
