using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Optim;
using KohyaPS.Engine.Training;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// A checkpoint captured in memory on the training thread: CPU copies of every model tensor and the
/// optimizer state, plus the text files. Training may go on changing the live tensors while a
/// background thread writes this copy.
/// </summary>
public sealed class CheckpointSnapshot : IDisposable
{
    public CheckpointSnapshot(string name, CheckpointState state, IReadOnlyList<KeyValuePair<string, Tensor>> model,
        OptimizerState optimizer, IReadOnlyDictionary<string, string> modelMetadata, string hyperparametersYaml,
        string datasetJson, string environmentJson)
    {
        Name = name;
        State = state;
        Model = model;
        Optimizer = optimizer;
        ModelMetadata = modelMetadata;
        HyperparametersYaml = hyperparametersYaml;
        DatasetJson = datasetJson;
        EnvironmentJson = environmentJson;
    }

    public string Name { get; }
    public CheckpointState State { get; }
    public IReadOnlyList<KeyValuePair<string, Tensor>> Model { get; }
    public OptimizerState Optimizer { get; }
    public IReadOnlyDictionary<string, string> ModelMetadata { get; }
    public string HyperparametersYaml { get; }
    public string DatasetJson { get; }
    public string EnvironmentJson { get; }

    /// <summary>Bytes the checkpoint will take on disk, within a few kilobytes.</summary>
    public long EstimatedBytes =>
        Model.Sum(kv => kv.Value.NumberOfElements * kv.Value.ElementSize)
        + Optimizer.Tensors.Values.Sum(t => t.NumberOfElements * t.ElementSize)
        + 64 * 1024 + 2L * (HyperparametersYaml.Length + DatasetJson.Length + EnvironmentJson.Length + State.ToJson().Length);

    /// <summary>
    /// Captures the live run between steps (on the training thread): state, settings, and CPU copies of the
    /// model and optimizer tensors. The one place a checkpoint's contents are assembled.
    /// </summary>
    public static CheckpointSnapshot Capture(TrainingContext context, string runName, string reason, string runId,
        string? parentCheckpointId, List<SegmentRecord> segments, double? smoothedLoss, string datasetJson, string environmentJson)
    {
        var hp = context.Hyperparameters;
        var state = context.State;
        var checkpointState = new CheckpointState
        {
            RunName = runName,
            RunId = runId,
            CheckpointId = Guid.NewGuid().ToString("N"),
            ParentCheckpointId = parentCheckpointId,
            CreatedUtc = DateTime.UtcNow,
            GlobalStep = state.GlobalStep,
            Epoch = state.Epoch,
            BatchInEpoch = state.BatchInEpoch,
            MicroBatches = state.MicroBatches,
            SamplesSeen = state.SamplesSeen,
            Seed = hp.Training.Seed,
            LrSchedule = hp.LRSchedule.Name,
            LastLearningRate = context.LearningRateAt(Math.Max(0, state.GlobalStep - 1)),
            SmoothedLoss = smoothedLoss,
            ValidationLoss = context.Monitors.LastValidationStep == state.GlobalStep ? context.Monitors.LastValidationLoss : null,
            Monitors = context.Monitors.Clone(),
            Threads = TorchSharp.torch.get_num_threads(),
            Device = hp.Resources.Device,
            Dtype = hp.Resources.Dtype,
            LossScaler = context.Model.Precision?.Scaler?.Export(),
            Tokenizer = context.Model.Tokenizer.Describe(),
            Reason = reason,
            Segments = segments,
        };
        return new CheckpointSnapshot(
            CheckpointNames.For(runName, state.GlobalStep),
            checkpointState,
            CopyTensors(context.Model.StateTensors()),
            context.Optimizer.ExportState(),
            Checkpoints.ModelMetadata.For(context, checkpointState),
            HyperparameterYaml.Serialize(hp),
            datasetJson,
            environmentJson);
    }

    /// <summary>Copies live tensors to CPU-owned clones (call on the training thread, between steps).</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> CopyTensors(IEnumerable<KeyValuePair<string, Tensor>> live) =>
        live.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.detach().cpu().clone())).ToList();

    public void Dispose()
    {
        foreach (var kv in Model)
            kv.Value.Dispose();
        Optimizer.Dispose();
    }
}
