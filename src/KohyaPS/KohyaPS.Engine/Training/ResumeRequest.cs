namespace KohyaPS.Engine.Training;

/// <summary>What a caller decides about continuing a run.</summary>
public sealed class ResumeRequest
{
    /// <summary>The run folder (resume from its newest good checkpoint) — or null with <see cref="CheckpointPath"/>.</summary>
    public string? RunPath { get; init; }

    /// <summary>A specific checkpoint folder to resume from.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>The cumulative step to train to (overrides the checkpoint's Training.MaxSteps).</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Steps to train beyond the checkpoint's step.</summary>
    public long? AdditionalSteps { get; init; }

    /// <summary>Another location for the dataset the run used (the checkpoint records the original path).</summary>
    public string? DatasetPath { get; init; }

    /// <summary>
    /// The hyperparameters asked for (-HyperparameterSet, -ConfigPath); null continues with the checkpoint's. Every
    /// difference from the checkpoint's set goes through <see cref="Hyperparameters.ResumePolicy"/>.
    /// </summary>
    public KohyaPS.Contracts.KohyaHyperparameterSet? Hyperparameters { get; init; }

    /// <summary>Settings changed on purpose ('Section.Option' = value, or nested by section): allowed and recorded.</summary>
    public System.Collections.IDictionary? Overrides { get; init; }

    /// <summary>Continue whatever changed (-Force): every Trajectory difference, not only those named in <see cref="Overrides"/>, and a changed dataset.</summary>
    public bool Force { get; init; }

    /// <summary>Start with a fresh optimizer state (allows Optimizer.Type and Model.TrainTextEncoder to change).</summary>
    public bool ResetOptimizer { get; init; }

    /// <summary>Ramp the learning rate from 1/N of the scheduled value to all of it over N steps after the resume; 0 = none.</summary>
    public int RewarmSteps { get; init; }

    /// <summary>Continue on a dataset that changed since the checkpoint (-AcceptDatasetChanges); the change is recorded in the lineage.</summary>
    public bool AcceptDatasetChanges { get; init; }

    /// <summary>Writes the checkpoints; null means the standard writer (tests inject free-space faults here).</summary>
    public KohyaPS.Engine.Checkpoints.CheckpointWriter? CheckpointWriter { get; init; }

    /// <summary>Extra hooks (tests, tools) appended after the built-in ones.</summary>
    public IReadOnlyList<ITrainingHook> ExtraHooks { get; init; } = Array.Empty<ITrainingHook>();

    /// <summary>Faults to inject (tests); null reads <see cref="FaultInjection.Variable"/> from the environment.</summary>
    public FaultInjection? Faults { get; init; }
}
