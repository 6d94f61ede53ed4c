using KohyaPS.Contracts;

namespace KohyaPS.Engine.Training;

/// <summary>Everything a caller decides about a fresh training run.</summary>
public sealed class TrainingRequest
{
    public required KohyaHyperparameterSet Hyperparameters { get; init; }

    /// <summary>A DreamBooth folder or a dataset TOML; null with <see cref="Demo"/> means the demo dataset.</summary>
    public string? DatasetPath { get; init; }

    /// <summary>The run folder: logs, checkpoints and the final weights go here.</summary>
    public required string OutputPath { get; init; }

    /// <summary>Create the demo dataset under the run folder when no dataset is given.</summary>
    public bool Demo { get; init; }

    /// <summary>
    /// A kohya-format LoRA file whose weights a LoRA run starts from (weights only: the optimizer starts fresh);
    /// null starts the adapters from their initialisation.
    /// </summary>
    public string? NetworkWeightsPath { get; init; }

    /// <summary>Writes the checkpoints; null means the standard writer (tests inject free-space faults here).</summary>
    public KohyaPS.Engine.Checkpoints.CheckpointWriter? CheckpointWriter { get; init; }

    /// <summary>Extra hooks (tests, tools) appended after the built-in ones.</summary>
    public IReadOnlyList<ITrainingHook> ExtraHooks { get; init; } = Array.Empty<ITrainingHook>();

    /// <summary>Faults to inject (tests); null reads <see cref="FaultInjection.Variable"/> from the environment.</summary>
    public FaultInjection? Faults { get; init; }
}
