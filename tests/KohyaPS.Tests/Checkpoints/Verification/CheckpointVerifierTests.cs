using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Verification;
using KohyaPS.Tests.Models;
using TorchSharp;
using static KohyaPS.Tests.Checkpoints.Verification.Damage;

namespace KohyaPS.Tests.Checkpoints.Verification;

/// <summary>
/// Test-KohyaCheckpoint's checks on a real checkpoint: a pristine one passes everything; each kind of damage
/// is reported by the check that owns it, with its error id, and the checks depending on it are skipped.
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class CheckpointVerifierTests : IClassFixture<VerifierFixture>
{
    private readonly VerifierFixture _fixture;

    public CheckpointVerifierTests(VerifierFixture fixture) => _fixture = fixture;

    /// <summary>A damage, whether the checksums are rewritten to hide it, -Deep, and the check that must catch it.</summary>
    public sealed record Case(Action<string> Apply, bool Rechecksum, bool Deep, string Check, KohyaCheckStatus Status, string ErrorId);

    private static string F(string dir, string file) => Path.Combine(dir, file);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["flipped bit in model data"] = new(d => FlipBit(F(d, CheckpointNames.ModelFile), _ => MiddleOfData(F(d, CheckpointNames.ModelFile))),
            false, false, "Checksum model.safetensors", KohyaCheckStatus.Fail, "ChecksumMismatch"),
        ["flipped bit in state.json"] = new(d => FlipBit(F(d, CheckpointNames.StateFile), n => n / 2, bit: 0),
            false, false, "Checksum state.json", KohyaCheckStatus.Fail, "ChecksumMismatch"),
        ["optimizer file missing"] = new(d => File.Delete(F(d, CheckpointNames.OptimizerFile)),
            false, false, "Files", KohyaCheckStatus.Fail, "CheckpointFileMissing"),
        ["optimizer file missing (header check)"] = new(d => File.Delete(F(d, CheckpointNames.OptimizerFile)),
            false, false, "Optimizer header", KohyaCheckStatus.Fail, "CheckpointFileMissing"),
        ["checksum list missing"] = new(d => File.Delete(F(d, Checksums.FileName)),
            false, false, "Checksum list", KohyaCheckStatus.Fail, "ChecksumListMissing"),
        ["checksum list names ../x"] = new(d => EditText(F(d, Checksums.FileName), t => t + new string('a', 64) + "  ../x\n"),
            false, false, "Checksum list", KohyaCheckStatus.Fail, "ChecksumListInvalid"),
        ["file left out of the checksum list"] = new(d => EditText(F(d, Checksums.FileName),
                t => string.Join('\n', t.Split('\n').Where(l => !l.EndsWith(CheckpointNames.DatasetFile, StringComparison.Ordinal)))),
            false, false, "Checksum dataset.json", KohyaCheckStatus.Fail, "ChecksumEntryMissing"),
        ["unexpected extra file"] = new(d => File.WriteAllText(F(d, "notes.txt"), "mine"),
            false, false, "Extra files", KohyaCheckStatus.Warn, "CheckpointUnexpectedFile"),
        ["model truncated inside a tensor"] = new(d => Truncate(F(d, CheckpointNames.ModelFile), new FileInfo(F(d, CheckpointNames.ModelFile)).Length - 100),
            false, false, "Model header", KohyaCheckStatus.Fail, "SafetensorsTruncated"),
        ["model truncated inside the header"] = new(d => Truncate(F(d, CheckpointNames.ModelFile), 200),
            false, false, "Model header", KohyaCheckStatus.Fail, "SafetensorsHeaderLengthExceedsFile"),
        ["state.json with a negative step"] = new(d => EditText(F(d, CheckpointNames.StateFile), t => Replace(t, "\"globalStep\": 2", "\"globalStep\": -2")),
            true, false, "State", KohyaCheckStatus.Fail, "CheckpointStateInvalid"),
        ["state.json with a string step"] = new(d => EditText(F(d, CheckpointNames.StateFile), t => Replace(t, "\"globalStep\": 2", "\"globalStep\": \"2\"")),
            true, false, "State", KohyaCheckStatus.Fail, "CheckpointStateInvalid"),
        ["state.json from a future format"] = new(d => EditText(F(d, CheckpointNames.StateFile), t => Replace(t, $"\"formatVersion\": {CheckpointState.CurrentFormatVersion}", "\"formatVersion\": 7")),
            true, false, "State", KohyaCheckStatus.Fail, "CheckpointFormatUnsupported"),
        ["state unreadable skips structure"] = new(d => EditText(F(d, CheckpointNames.StateFile), t => t[..(t.Length / 2)]),
            true, false, StructureChecks.ModelCheck, KohyaCheckStatus.Skipped, ""),
        ["model tensor with a wrong shape"] = new(d => EditTensors(F(d, CheckpointNames.ModelFile), t =>
            {
                string key = t.Keys.First(k => k.EndsWith("conv_in.weight", StringComparison.Ordinal));
                var shape = t[key].shape;
                shape[0] += 1;
                t[key].Dispose();
                t[key] = torch.zeros(shape);
            }), true, false, StructureChecks.ModelCheck, KohyaCheckStatus.Fail, "CheckpointModelMismatch"),
        ["model tensor missing"] = new(d => EditTensors(F(d, CheckpointNames.ModelFile), t => t.Remove(t.Keys.Last())),
            true, false, StructureChecks.ModelCheck, KohyaCheckStatus.Fail, "CheckpointModelMismatch"),
        ["model tensor in float64"] = new(d => EditTensors(F(d, CheckpointNames.ModelFile), t =>
            {
                string key = t.Keys.First();
                t[key] = t[key].to(torch.float64);
            }), true, false, StructureChecks.ModelCheck, KohyaCheckStatus.Fail, "CheckpointModelMismatch"),
        ["settings name another preset"] = new(d => EditText(F(d, CheckpointNames.HyperparametersFile), t => Replace(t, "Preset: tiny", "Preset: small")),
            true, false, StructureChecks.ModelCheck, KohyaCheckStatus.Fail, "CheckpointModelMismatch"),
        ["optimizer moment missing"] = new(d => EditTensors(F(d, CheckpointNames.OptimizerFile), t => t.Remove(t.Keys.First(k => k.EndsWith(".exp_avg_sq", StringComparison.Ordinal)))),
            true, false, StructureChecks.OptimizerCheck, KohyaCheckStatus.Fail, "OptimizerStateMismatch"),
        ["settings name another optimizer"] = new(d => EditText(F(d, CheckpointNames.HyperparametersFile), t => Replace(t, "Type: AdamW", "Type: Lion")),
            true, false, StructureChecks.OptimizerCheck, KohyaCheckStatus.Fail, "OptimizerStateMismatch"),
        ["unknown key in the settings"] = new(d => EditText(F(d, CheckpointNames.HyperparametersFile), t => t + "Turbo: true\n"),
            true, false, "Hyperparameters", KohyaCheckStatus.Fail, "HyperparameterUnknownKey"),
        ["environment.json not JSON"] = new(d => File.WriteAllText(F(d, CheckpointNames.EnvironmentFile), "TorchSharp = 0.107"),
            true, false, "Environment", KohyaCheckStatus.Fail, "CheckpointFileInvalid"),
        ["dataset.json an array"] = new(d => File.WriteAllText(F(d, CheckpointNames.DatasetFile), "[1, 2]"),
            true, false, "Dataset manifest", KohyaCheckStatus.Fail, "CheckpointFileInvalid"),
        ["dataset.json an old file list"] = new(d => File.WriteAllText(F(d, CheckpointNames.DatasetFile), "{\"source\": \"/data\", \"files\": []}"),
            true, false, "Dataset manifest", KohyaCheckStatus.Warn, "DatasetManifestMissing"),
        ["dataset manifest with a wrong image count"] = new(d => EditText(F(d, CheckpointNames.DatasetFile), t => Replace(t, "\"imageCount\": 8", "\"imageCount\": 9")),
            true, false, "Dataset manifest", KohyaCheckStatus.Fail, "DatasetManifestInvalid"),
        ["written by another TorchSharp series"] = new(d => EditText(F(d, CheckpointNames.EnvironmentFile), t => Replace(t, "\"TorchSharpVersion\": \"0.107.0\"", "\"TorchSharpVersion\": \"0.105.1\"")),
            true, false, "TorchSharp", KohyaCheckStatus.Warn, "TorchSharpSeriesDiffers"),
        ["trained with more threads than this machine has"] = new(d => EditText(F(d, CheckpointNames.StateFile), t => Replace(t, "\"threads\": 2", "\"threads\": 4096")),
            true, false, "Threads", KohyaCheckStatus.Warn, "ThreadCountExceedsMachine"),
        ["trained on CUDA"] = new(d => EditText(F(d, CheckpointNames.HyperparametersFile), t => Replace(t, "Device: cpu", "Device: cuda:0")),
            true, false, "Device", KohyaCheckStatus.Fail, "DeviceUnavailable"),
        ["NaN in a weight (deep)"] = new(d => EditTensors(F(d, CheckpointNames.ModelFile), t => t[t.Keys.First()].view(-1)[0] = float.NaN),
            true, true, "Model values", KohyaCheckStatus.Fail, "NonFiniteWeights"),
        ["Inf in an optimizer moment (deep)"] = new(d => EditTensors(F(d, CheckpointNames.OptimizerFile), t => t[t.Keys.Last()].view(-1)[0] = float.PositiveInfinity),
            true, true, "Optimizer values", KohyaCheckStatus.Fail, "NonFiniteOptimizerState"),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys) data.Add(name);
        return data;
    }

    private static string Replace(string text, string from, string to)
    {
        Assert.Contains(from, text); // the damage must really be applied
        return text.Replace(from, to, StringComparison.Ordinal);
    }

    [Fact]
    public void PristineCheckpointPassesEveryCheckFastAndDeep()
    {
        foreach (bool deep in new[] { false, true })
        {
            var result = CheckpointVerifier.Test(_fixture.Source, deep);
            Assert.True(result.IsValid, string.Join("\n", result.Checks));
            Assert.DoesNotContain(result.Checks, c => c.Status != KohyaCheckStatus.Pass);
            Assert.Equal(2, result.Step);
            Assert.Equal("KohyaPS", result.Format);
            Assert.Equal(deep, result.Checks.Any(c => c.Name == "Model values"));
            Assert.Contains(result.Checks, c => c.Name == StructureChecks.OptimizerCheck);
            Assert.Equal("tiny", result.Properties["Preset"]);
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void DamageIsReportedByTheCheckThatOwnsIt(string name)
    {
        var c = Cases[name];
        string dir = _fixture.Copy(Guid.NewGuid().ToString("N"));
        c.Apply(dir);
        if (c.Rechecksum) Rechecksum(dir);

        var result = CheckpointVerifier.Test(dir, c.Deep);

        var check = result.Checks.FirstOrDefault(x => x.Name == c.Check && x.Status == c.Status && x.ErrorId == c.ErrorId);
        Assert.True(check is not null, $"expected {c.Status} {c.Check} [{c.ErrorId}], got:\n{string.Join("\n", result.Checks)}");
        bool failed = result.Checks.Any(x => x.Status == KohyaCheckStatus.Fail);
        Assert.Equal(!failed, result.IsValid);
        if (c.Status == KohyaCheckStatus.Fail) Assert.False(result.IsValid);
        if (c.Rechecksum) Assert.DoesNotContain(result.Checks, x => x.Name.StartsWith("Checksum", StringComparison.Ordinal) && x.Status != KohyaCheckStatus.Pass);
    }

    [Fact]
    public void NaNWeightsPassTheFastTestAndFailTheDeepOne()
    {
        string dir = _fixture.Copy("nan-fast");
        EditTensors(F(dir, CheckpointNames.ModelFile), t => t[t.Keys.First()].view(-1)[1] = float.NaN);
        Rechecksum(dir);
        Assert.True(CheckpointVerifier.Test(dir, deep: false).IsValid);
        Assert.False(CheckpointVerifier.Test(dir, deep: true).IsValid);
    }

    [Fact]
    public void ChecksumListNamingAFileOutsideTheFolderReadsNothingOutside()
    {
        string dir = _fixture.Copy("escape");
        string outside = Path.Combine(Path.GetDirectoryName(dir)!, "secret");
        File.WriteAllText(outside, "not yours");
        string hash = Checksums.HashFile(outside);
        File.WriteAllText(F(dir, Checksums.FileName), $"{hash}  ../secret\n");
        var result = CheckpointVerifier.Test(dir, deep: false);
        var list = Assert.Single(result.Checks, c => c.Name == "Checksum list");
        Assert.Equal("ChecksumListInvalid", list.ErrorId);
        Assert.DoesNotContain(result.Checks, c => c.Name.Contains("secret", StringComparison.Ordinal) && c.Status == KohyaCheckStatus.Pass);
    }

    [Fact]
    public void ProgressCoversEveryByteHashedAndCancellationStopsTheTest()
    {
        var reports = new List<VerificationProgress>();
        CheckpointVerifier.Test(_fixture.Source, deep: true, p => { lock (reports) reports.Add(p); });
        Assert.Contains(reports, p => p.Stage.StartsWith("Verifying", StringComparison.Ordinal) && p.BytesDone == p.BytesTotal);
        Assert.Contains(reports, p => p.Stage.StartsWith("Scanning", StringComparison.Ordinal) && p.BytesDone == p.BytesTotal);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => CheckpointVerifier.Test(_fixture.Source, deep: true, null, cancelled.Token));
    }

    [Fact]
    public void MissingFolderIsATypedError()
    {
        var error = Assert.Throws<KohyaException>(() => CheckpointVerifier.Test(Path.Combine(_fixture.Root, "nope"), deep: false));
        Assert.Equal("CheckpointNotFound", error.ErrorId);
    }

    [Fact]
    public void BuildingTheExpectedLayoutDrawsNoRandomNumbers()
    {
        torch.manual_seed(1234);
        using var before = torch.rand(4);
        torch.manual_seed(1234);
        CheckpointVerifier.Test(_fixture.Source, deep: false);
        using var after = torch.rand(4);
        Assert.Equal(before.data<float>().ToArray(), after.data<float>().ToArray());
    }
}
