using System.Diagnostics;
using System.Text.Json;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Engine.Checkpoints.Verification;

/// <summary>
/// Test-KohyaCheckpoint's engine: every check of a KohyaPS checkpoint folder, in order — files, checksums,
/// state, settings, environment, dataset list, safetensors headers, structure against the settings,
/// optimizer coverage, compatibility with this machine, and with <c>deep</c> a NaN/Inf scan of every tensor.
/// Nothing is trusted before it is checked; a failed check skips the checks that depend on it.
/// </summary>
public static class CheckpointVerifier
{
    /// <summary>Tests a KohyaPS checkpoint folder, or a checkpoint another trainer wrote (see <see cref="ForeignVerifier"/>).</summary>
    public static KohyaCheckpointTestResult Test(string checkpointDirectory, bool deep,
        Action<VerificationProgress>? progress = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        string dir = Path.GetFullPath(checkpointDirectory).TrimEnd(Path.DirectorySeparatorChar);
        if (!CheckpointCatalog.IsOurCheckpoint(dir) && (File.Exists(dir) || Directory.Exists(dir)))
            return ForeignVerifier.Test(dir) ?? throw new KohyaException("CheckpointFormatUnknown", KohyaErrorKind.InvalidData,
                $"'{dir}' is not a checkpoint KohyaPS knows: not ours, not an sd-scripts state, diffusers or OneTrainer folder, not a kohya LoRA file.", target: dir);
        if (!Directory.Exists(dir))
            throw new KohyaException("CheckpointNotFound", KohyaErrorKind.ObjectNotFound, $"Checkpoint folder '{dir}' does not exist.", target: dir);

        var checks = new CheckList();
        var facts = new Dictionary<string, string>(StringComparer.Ordinal);
        IntegrityChecks.Files(dir, checks);
        var hashing = new ByteProgress("Verifying checksums", IntegrityChecks.ListedBytes(dir), progress);
        IntegrityChecks.Checksums(dir, checks, hashing.Add, cancellation);

        var state = checks.Run("State", () => CheckpointState.Parse(ReadText(dir, CheckpointNames.StateFile), Path.Combine(dir, CheckpointNames.StateFile)),
            s => $"Step {s.GlobalStep}, epoch {s.Epoch}, run '{s.RunName}', saved {s.CreatedUtc:u} ({s.Reason}).");
        var hp = checks.Run("Hyperparameters", () => LoadSettings(dir), h => $"Valid; preset {h.Model.Preset}, {h.Optimizer.Type}, learning rate {h.Optimizer.LearningRate:G4}.");
        var environment = checks.Run("Environment", () => ReadJson<KohyaEnvironmentInfo>(dir, CheckpointNames.EnvironmentFile),
            e => $"Written by KohyaPS {e.KohyaPSVersion}, TorchSharp {e.TorchSharpVersion}, {e.OperatingSystem}.");
        checks.Run("Dataset list", () => ReadJson<JsonElement?>(dir, CheckpointNames.DatasetFile) is { ValueKind: JsonValueKind.Object } o ? (object)o
                : throw Invalid(dir, CheckpointNames.DatasetFile, "it is not a JSON object"), _ => "Readable.");
        var model = checks.Run("Model header", () => SafetensorsHeader.Read(Path.Combine(dir, CheckpointNames.ModelFile)),
            h => $"{h.Entries.Count} tensors, {h.DataLength / 1048576.0:0.0} MiB, {h.Metadata.Count} metadata keys.");
        var optimizer = checks.Run("Optimizer header", () => SafetensorsHeader.Read(Path.Combine(dir, CheckpointNames.OptimizerFile)),
            h => $"{h.Entries.Count} tensors, {h.DataLength / 1048576.0:0.0} MiB.");

        if (state is null || hp is null)
        {
            const string why = "state.json and hyperparameters.yaml must both be readable.";
            checks.Skip(StructureChecks.ModelCheck, why);
            checks.Skip(StructureChecks.OptimizerCheck, why);
        }
        else
        {
            StructureChecks.Run(hp, state, model, optimizer, checks, facts);
        }
        if (state is null)
            checks.Skip("Compatibility", "state.json is not readable.");
        else
            CompatibilityChecks.Run(state, hp, environment, checks);

        if (deep)
            ScanValues(dir, model, optimizer, checks, progress, cancellation);

        string runPath = RunPathOf(dir);
        return new KohyaCheckpointTestResult
        {
            Path = dir,
            Name = Path.GetFileName(dir),
            RunPath = runPath,
            Run = state?.RunName ?? Path.GetFileName(runPath),
            Step = state?.GlobalStep ?? CheckpointNames.StepOf(Path.GetFileName(dir)) ?? -1,
            Epoch = state?.Epoch ?? 0,
            Format = "KohyaPS",
            IsValid = !checks.AnyFailed,
            Deep = deep,
            Checks = checks.Checks.ToList(),
            Properties = facts,
            Duration = clock.Elapsed,
        };
    }

    private static void ScanValues(string dir, SafetensorsHeader? model, SafetensorsHeader? optimizer, CheckList checks,
        Action<VerificationProgress>? progress, CancellationToken cancellation)
    {
        var reading = new ByteProgress("Scanning tensors for NaN/Inf", (model?.DataLength ?? 0) + (optimizer?.DataLength ?? 0), progress);
        if (model is null)
            checks.Skip("Model values", "model.safetensors has no readable header.");
        else
            FiniteScan.Run(Path.Combine(dir, CheckpointNames.ModelFile), "Model values", "NonFiniteWeights", checks, reading, cancellation);
        if (optimizer is null)
            checks.Skip("Optimizer values", "optimizer.safetensors has no readable header.");
        else
            FiniteScan.Run(Path.Combine(dir, CheckpointNames.OptimizerFile), "Optimizer values", "NonFiniteOptimizerState", checks, reading, cancellation);
    }

    private static KohyaHyperparameterSet LoadSettings(string dir)
    {
        var hp = HyperparameterYaml.Load(Path.Combine(dir, CheckpointNames.HyperparametersFile));
        HyperparameterValidator.Validate(hp);
        return hp;
    }

    private static string ReadText(string dir, string file)
    {
        string path = Path.Combine(dir, file);
        if (!File.Exists(path))
            throw new KohyaException("CheckpointFileMissing", KohyaErrorKind.ObjectNotFound, $"{file} is missing.", target: path);
        return File.ReadAllText(path);
    }

    private static T ReadJson<T>(string dir, string file)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(ReadText(dir, file)) ?? throw Invalid(dir, file, "it is empty");
        }
        catch (JsonException ex)
        {
            throw Invalid(dir, file, ex.Message);
        }
    }

    private static KohyaException Invalid(string dir, string file, string detail) =>
        new("CheckpointFileInvalid", KohyaErrorKind.InvalidData, $"{file} is not valid: {detail}.", target: Path.Combine(dir, file));

    /// <summary>The run folder of a checkpoint under <c>&lt;run&gt;/checkpoints/</c>; the parent folder otherwise.</summary>
    internal static string RunPathOf(string dir)
    {
        string parent = Path.GetDirectoryName(dir) ?? dir;
        return Path.GetFileName(parent) == CheckpointNames.Folder ? Path.GetDirectoryName(parent) ?? parent : parent;
    }
}
