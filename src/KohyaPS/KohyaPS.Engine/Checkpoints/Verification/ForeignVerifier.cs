using System.Diagnostics;
using KohyaPS.Contracts;
using KohyaPS.Engine.Interop;

namespace KohyaPS.Engine.Checkpoints.Verification;

/// <summary>
/// Test-KohyaCheckpoint for what other trainers wrote: an sd-scripts state folder (train_state.json parsed
/// strictly, model.safetensors validated, accelerate's pickles reported by presence only — never opened), a
/// diffusers or OneTrainer folder (recognised and listed), or a kohya LoRA file (structure, dim/alpha, and
/// sshs_model_hash recomputed). Each finding becomes a check: Error → Fail, Warning → Warn.
/// </summary>
internal static class ForeignVerifier
{
    public static KohyaCheckpointTestResult? Test(string path)
    {
        var clock = Stopwatch.StartNew();
        var info = ForeignCheckpointDetector.Inspect(path, verifyLoraHashes: true);
        if (info is null)
            return null;
        var checks = new CheckList();
        checks.Pass("Format", info.Format == KohyaForeignFormat.KohyaLora
            ? $"A kohya LoRA file of {info.SizeBytes / 1048576.0:0.00} MiB."
            : $"{info.Format}: {info.Files.Count} files, {info.SizeBytes / 1048576.0:0.0} MiB.");
        foreach (var f in info.Findings)
        {
            string name = f.Target is { Length: > 0 } t ? $"{f.ErrorId} ({Path.GetFileName(t)})" : f.ErrorId;
            switch (f.Severity)
            {
                case KohyaFindingSeverity.Error: checks.Fail(name, f.ErrorId, f.Message); break;
                case KohyaFindingSeverity.Warning: checks.Warn(name, f.ErrorId, f.Message); break;
                default: checks.Pass(name, f.Message); break;
            }
        }
        if (info.Lora is { } lora)
        {
            string hash = lora.ModelHashCheck switch
            {
                KohyaHashCheck.Match => "sshs_model_hash matches the data.",
                KohyaHashCheck.Absent => "The file stores no sshs_model_hash.",
                _ => $"sshs_model_hash: {lora.ModelHashCheck}.",
            };
            if (lora.ModelHashCheck is KohyaHashCheck.Match or KohyaHashCheck.Absent)
                checks.Pass("LoRA", $"{lora.Modules.Count} modules, dim {lora.NetworkDim?.ToString() ?? "?"}, alpha {lora.NetworkAlpha?.ToString() ?? "?"}; {hash}");
            else if (!checks.Checks.Any(c => c.ErrorId == InteropErrorIds.LoraHashMismatch))
                checks.Fail("LoRA", InteropErrorIds.LoraHashMismatch, hash);
        }
        if (info.Format != KohyaForeignFormat.KohyaLora)
            checks.Warn("Resume", "CheckpointFormatNotResumable",
                $"A {info.Format} checkpoint is recognised and checked, but KohyaPS does not resume it: its optimizer and RNG state are Python pickles, which KohyaPS never executes.");
        var facts = new Dictionary<string, string>(StringComparer.Ordinal);
        if (info.Lora is { } l)
        {
            if (l.NetworkDim is { } d) facts["NetworkDim"] = d.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (l.NetworkAlpha is { } a) facts["NetworkAlpha"] = a.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            foreach (var (k, v) in l.TrainingMetadata) facts[k] = v;
        }
        var described = CheckpointCatalog.Describe(info);
        return new KohyaCheckpointTestResult
        {
            Path = info.Path,
            Name = info.Name,
            RunPath = described.RunPath,
            Run = described.Run,
            Step = described.Step,
            Epoch = described.Epoch,
            Format = info.Format.ToString(),
            IsValid = !checks.AnyFailed,
            Deep = false,
            Checks = checks.Checks.ToList(),
            Properties = facts,
            Duration = clock.Elapsed,
        };
    }
}
