using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Interop;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Native;
using KohyaPS.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.LoraExport;

/// <summary>What Export-KohyaLora asks for.</summary>
public sealed record LoraExportRequest
{
    public required string CheckpointPath { get; init; }
    public required string OutputPath { get; init; }

    /// <summary>Rank of the LoRA extracted from a full fine-tune (ignored when the checkpoint holds LoRA weights).</summary>
    public int Rank { get; init; } = 8;

    public KohyaLoraSaveDtype Dtype { get; init; } = KohyaLoraSaveDtype.Float16;
    public string? OutputName { get; init; }
    public string? Title { get; init; }
    public bool Overwrite { get; init; }
}

/// <summary>
/// Export-KohyaLora's engine: a verified checkpoint to a kohya-format LoRA file. A checkpoint that holds LoRA
/// weights (<c>….lora_down.weight</c>) is exported as it is; a full fine-tune is turned into a LoRA of the
/// requested rank from the difference to its initial weights, which the run's seed reproduces exactly.
/// The metadata carries the cumulative step, the run's settings and both kohya hashes; the file is read
/// back and its hash checked before the description is returned.
/// </summary>
public static class CheckpointLoraExport
{
    public static KohyaLoraInfo Export(LoraExportRequest request, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        string dir = Path.GetFullPath(request.CheckpointPath).TrimEnd(Path.DirectorySeparatorChar);
        if (!Directory.Exists(dir))
            throw new KohyaException("CheckpointNotFound", KohyaErrorKind.ObjectNotFound, $"Checkpoint folder '{dir}' does not exist.", target: dir);
        if (request.Rank < 1)
            throw new KohyaException("InvalidLoraRank", KohyaErrorKind.InvalidArgument, $"The rank must be at least 1 (got {request.Rank}).", target: request.Rank);
        var check = CheckpointStore.Verify(dir, cancellation);
        if (!check.IsValid)
            throw new KohyaException("CheckpointInvalid", KohyaErrorKind.InvalidData,
                $"Checkpoint '{dir}' cannot be exported: {string.Join("; ", check.Problems)}.", target: dir)
            {
                RecommendedAction = "Export an older checkpoint of the run (Get-KohyaCheckpoint lists them; Test-KohyaCheckpoint says which are whole).",
            };

        TorchRuntime.EnsureLoaded();
        var state = CheckpointState.Parse(File.ReadAllText(Path.Combine(dir, CheckpointNames.StateFile)), Path.Combine(dir, CheckpointNames.StateFile));
        var hp = HyperparameterYaml.Load(Path.Combine(dir, CheckpointNames.HyperparametersFile));
        using var scope = torch.NewDisposeScope();
        var trained = ReadTensors(Path.Combine(dir, CheckpointNames.ModelFile));

        bool hasLora = trained.Keys.Any(k => k.EndsWith(".lora_down.weight", StringComparison.Ordinal));
        IReadOnlyDictionary<string, Tensor> lora;
        string source;
        double? error = null;
        if (hasLora)
        {
            lora = trained.Where(kv => IsLoraTensor(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            source = "trained";
        }
        else
        {
            var initial = InitialWeights(hp, state);
            lora = LoraExtraction.Extract(trained, initial, request.Rank, cancellation, out double relative);
            if (lora.Count == 0)
                throw new KohyaException("NoLoraModules", KohyaErrorKind.InvalidData,
                    $"The model in '{dir}' has no module a kohya LoRA patches (attention and feed-forward layers).", target: dir);
            error = relative;
            source = "extracted";
        }

        var keyMap = KeyMapFor(trained.Keys);
        // Extraction caps each module's rank at its smaller side (alpha = that rank); ss_network_dim names the largest.
        int? rank = hasLora ? null : (int)lora.Where(kv => kv.Key.EndsWith(".alpha", StringComparison.Ordinal)).Max(kv => kv.Value.item<float>());
        var settings = Settings(request, hp, state, rank, source, error);
        var written = KohyaLoraExporter.Export(request.OutputPath, lora, keyMap, settings, request.Overwrite);
        var info = KohyaLoraReader.Read(written.Path, verifyHashes: true);
        if (info.ModelHashCheck != KohyaHashCheck.Match)
            throw new KohyaException("LoraExportVerificationFailed", KohyaErrorKind.InvalidData,
                $"'{written.Path}' was written but reading it back gives sshs_model_hash {info.ModelHashCheck}.", target: written.Path);
        return info;
    }

    private static bool IsLoraTensor(string name) =>
        name.EndsWith(".lora_down.weight", StringComparison.Ordinal) || name.EndsWith(".lora_up.weight", StringComparison.Ordinal)
        || name.EndsWith(".alpha", StringComparison.Ordinal);

    private static string ModuleOfLoraTensor(string name)
    {
        foreach (string suffix in (ReadOnlySpan<string>)[".lora_down.weight", ".lora_up.weight", ".alpha"])
            if (name.EndsWith(suffix, StringComparison.Ordinal))
                return name[..^suffix.Length];
        return name;
    }

    private static Dictionary<string, Tensor> ReadTensors(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.ReadAll().ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
    }

    /// <summary>The weights the run started from, rebuilt from its seed; the caller's random stream is left as it was.</summary>
    private static Dictionary<string, Tensor> InitialWeights(KohyaHyperparameterSet hp, CheckpointState state)
    {
        var tokenizer = CaptionTokenizers.FromState(hp.Model, state.Tokenizer, "state.json");
        using var generator = DefaultGeneratorScope.Preserve();
        using var model = TrainingModel.Create(hp.Model, tokenizer, hp.Training.Seed, CPU);
        return model.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone(), StringComparer.Ordinal);
    }

    /// <summary>
    /// The module paths of the model the checkpoint holds, in the key map's terms (text encoder under <c>text_model.</c>):
    /// from the weights of a full model, or from the adapters' own names in a LoRA checkpoint (which holds no base weights).
    /// </summary>
    private static KohyaLoraKeyMap KeyMapFor(IEnumerable<string> modelTensorNames)
    {
        var all = modelTensorNames.ToList();
        if (all.All(IsLoraTensor))
        {
            var modules = all.Select(ModuleOfLoraTensor).Distinct(StringComparer.Ordinal).ToList();
            return new KohyaLoraKeyMap(
                modules.Where(m => m.StartsWith(TrainingModel.UNetPrefix, StringComparison.Ordinal)).Select(m => m[TrainingModel.UNetPrefix.Length..]),
                modules.Where(m => m.StartsWith(TrainingModel.TextEncoderPrefix, StringComparison.Ordinal)).Select(m => m[TrainingModel.TextEncoderPrefix.Length..]));
        }
        var names = all.Where(n => !IsLoraTensor(n)).ToList();
        var unet = KohyaLoraKeyMap.ModulePathsFromParameterNames(
            names.Where(n => n.StartsWith(TrainingModel.UNetPrefix, StringComparison.Ordinal)).Select(n => n[TrainingModel.UNetPrefix.Length..]));
        var text = KohyaLoraKeyMap.ModulePathsFromParameterNames(
            names.Where(n => n.StartsWith(TrainingModel.TextEncoderPrefix, StringComparison.Ordinal)).Select(n => n[TrainingModel.TextEncoderPrefix.Length..]), "text_model.");
        return new KohyaLoraKeyMap(unet, text);
    }

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time.ToUniversalTime(), DateTimeKind.Utc));

    private static KohyaLoraExportSettings Settings(LoraExportRequest request, KohyaHyperparameterSet hp, CheckpointState state, int? rank, string source, double? error)
    {
        var extra = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["kohyaps.run_id"] = state.RunId,
            ["kohyaps.checkpoint_id"] = state.CheckpointId,
            ["kohyaps.global_step"] = state.GlobalStep.ToString(CultureInfo.InvariantCulture),
            ["kohyaps.lora_source"] = source,
        };
        if (error is { } e)
            extra["kohyaps.extraction_relative_error"] = e.ToString("R", CultureInfo.InvariantCulture);
        return new KohyaLoraExportSettings
        {
            OutputName = request.OutputName ?? Path.GetFileNameWithoutExtension(request.OutputPath),
            GlobalStep = state.GlobalStep,
            Epoch = state.Epoch,
            LearningRate = hp.Optimizer.LearningRate,
            LrScheduler = hp.LRSchedule.Name,
            LrWarmupSteps = hp.LRSchedule.WarmupSteps,
            Optimizer = hp.Optimizer.Type,
            Seed = hp.Training.Seed,
            MaxTrainSteps = hp.Training.MaxSteps,
            NoiseOffset = hp.Diffusion.NoiseOffset,
            MinSnrGamma = hp.Diffusion.MinSnrGamma,
            BaseModel = KohyaBaseModel.StableDiffusion1,
            SessionId = KohyaLoraExportSettings.SessionIdFrom(state.RunId),
            TrainingStartedAt = state.Segments.FirstOrDefault()?.StartedUtc is { } started ? Utc(started) : null,
            TrainingFinishedAt = Utc(state.CreatedUtc),
            NetworkDim = rank,
            NetworkAlpha = rank,
            Title = request.Title,
            Resolution = $"{hp.Data.Resolution}x{hp.Data.Resolution}",
            SaveDtype = request.Dtype,
            ExtraMetadata = extra,
        };
    }
}
