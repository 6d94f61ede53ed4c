using System.Text.Json;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Datasets;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Optim;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Training;

/// <summary>A verified checkpoint read back for resuming: state, settings, and readers for the tensors.</summary>
internal sealed class ResumePoint
{
    private ResumePoint(string path, CheckpointState state, KohyaHyperparameterSet hyperparameters, KohyaEnvironmentInfo? environment, string? datasetSource,
        KohyaDatasetManifest? datasetManifest)
    {
        Path = path;
        State = state;
        Hyperparameters = hyperparameters;
        Environment = environment;
        _datasetSource = datasetSource;
        DatasetManifest = datasetManifest;
    }

    private readonly string? _datasetSource;

    public string Path { get; }
    public CheckpointState State { get; }
    public KohyaHyperparameterSet Hyperparameters { get; }
    public KohyaEnvironmentInfo? Environment { get; }

    /// <summary>The dataset manifest of dataset.json; null for checkpoints written before manifests (a plain file list).</summary>
    public KohyaDatasetManifest? DatasetManifest { get; }
    public string ModelPath => System.IO.Path.Combine(Path, CheckpointNames.ModelFile);

    public static ResumePoint Load(string checkpoint)
    {
        string statePath = System.IO.Path.Combine(checkpoint, CheckpointNames.StateFile);
        var state = CheckpointState.Parse(File.ReadAllText(statePath), statePath);
        var hp = HyperparameterYaml.Load(System.IO.Path.Combine(checkpoint, CheckpointNames.HyperparametersFile));
        KohyaEnvironmentInfo? env = null;
        string? source = null;
        KohyaDatasetManifest? manifest = null;
        try
        {
            env = JsonSerializer.Deserialize<KohyaEnvironmentInfo>(File.ReadAllText(System.IO.Path.Combine(checkpoint, CheckpointNames.EnvironmentFile)));
            string datasetPath = System.IO.Path.Combine(checkpoint, CheckpointNames.DatasetFile);
            string datasetJson = File.ReadAllText(datasetPath);
            using var dataset = JsonDocument.Parse(datasetJson);
            if (dataset.RootElement.TryGetProperty("source", out var s)) source = s.GetString();
            if (DatasetManifestJson.IsManifest(datasetJson)) manifest = DatasetManifestJson.Parse(datasetJson, datasetPath);
        }
        catch (JsonException ex)
        {
            throw new KohyaException("CheckpointStateInvalid", KohyaErrorKind.InvalidData, $"'{checkpoint}': environment.json or dataset.json is not valid JSON: {ex.Message}", ex, checkpoint);
        }
        return new ResumePoint(checkpoint, state, hp, env, source, manifest);
    }

    /// <summary>The dataset the run used; the demo dataset inside the run folder follows the run if it moved.</summary>
    public string DatasetSource(string run)
    {
        if (_datasetSource is not null && Directory.Exists(_datasetSource) || File.Exists(_datasetSource ?? ""))
            return _datasetSource!;
        string demo = System.IO.Path.Combine(run, TrainingRunner.DemoFolder);
        if (Directory.Exists(demo))
            return demo;
        throw new KohyaException("DatasetNotFound", KohyaErrorKind.ObjectNotFound,
            $"The dataset this run was trained on ('{_datasetSource}') is not there any more.", target: _datasetSource)
        {
            RecommendedAction = "Give its new location with -DatasetPath.",
        };
    }

    public TrainingState TrainingState()
    {
        var state = new TrainingState();
        RestorePosition(state);
        return state;
    }

    /// <summary>The tokenizer the checkpoint was trained with (<see cref="CaptionTokenizers.FromState"/>).</summary>
    public ICaptionTokenizer Tokenizer(ModelSection settings) => CaptionTokenizers.FromState(settings, State.Tokenizer, Path);

    public IReadOnlyDictionary<string, Tensor> ReadModel()
    {
        using var file = SafetensorsFile.Open(ModelPath);
        return file.ReadAll().ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
    }

    /// <summary>Copies the checkpoint's weights into <paramref name="model"/> (names and shapes must match) and frees the read copies.</summary>
    public void LoadWeightsInto(TrainingModel model)
    {
        var weights = ReadModel();
        try
        {
            model.LoadState(weights, ModelPath);
            model.Precision?.RestoreScaler(State.LossScaler, System.IO.Path.Combine(Path, CheckpointNames.StateFile));
        }
        finally
        {
            foreach (var tensor in weights.Values) tensor.Dispose();
        }
    }

    /// <summary>Puts the saved data position (step, epoch, batch, counters) into <paramref name="state"/>.</summary>
    public void RestorePosition(TrainingState state)
    {
        state.GlobalStep = State.GlobalStep;
        state.Epoch = State.Epoch;
        state.BatchInEpoch = State.BatchInEpoch;
        state.MicroBatches = State.MicroBatches;
        state.SamplesSeen = State.SamplesSeen;
    }

    /// <summary>The <c>__metadata__</c> of model.safetensors (a LoRA checkpoint names its base there).</summary>
    public IReadOnlyDictionary<string, string> ReadModelMetadata()
    {
        using var file = SafetensorsFile.Open(ModelPath);
        return file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    public OptimizerState ReadOptimizer()
    {
        const string prefix = "kohyaps.optimizer.";
        using var file = SafetensorsFile.Open(System.IO.Path.Combine(Path, CheckpointNames.OptimizerFile));
        var tensors = file.ReadAll().ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
        var values = file.Metadata.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        return new OptimizerState(tensors, values);
    }
}
