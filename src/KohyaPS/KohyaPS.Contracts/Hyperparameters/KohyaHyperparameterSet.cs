using System.ComponentModel;

namespace KohyaPS.Contracts;

/// <summary>
/// Every setting of a training run, typed and sectioned, each with a default, a description and an impact class.
/// Build it from a hashtable in PowerShell (<c>[KohyaHyperparameterSet]@{ Optimizer = @{ LearningRate = 1e-4 } }</c>),
/// from YAML (Import-KohyaHyperparameterSet), or with New-KohyaHyperparameterSet. The engine validates it
/// before any work starts and names the option that is wrong.
/// </summary>
/// <remarks>
/// The seed stays in <see cref="Training"/> (with the run length): it is what makes a run that run, and files
/// written before the Network, Sampling and Monitoring sections existed read unchanged.
/// </remarks>
public sealed class KohyaHyperparameterSet
{
    [Description("The model architecture and its size.")]
    public ModelSection Model { get; set; } = new();

    [Description("The trained network: the whole model (none) or a LoRA on top of it.")]
    public NetworkSection Network { get; set; } = new();

    [Description("The optimizer and its settings.")]
    public OptimizerSection Optimizer { get; set; } = new();

    [Description("The learning-rate schedule, a pure function of the optimizer step.")]
    public LRScheduleSection LRSchedule { get; set; } = new();

    [Description("Noise schedule, prediction target and loss weighting.")]
    public DiffusionSection Diffusion { get; set; } = new();

    [Description("Batching and data preprocessing.")]
    public DataSection Data { get; set; } = new();

    [Description("Threads, device and dtype.")]
    public ResourcesSection Resources { get; set; } = new();

    [Description("Length of the run: steps, and the seed.")]
    public TrainingSection Training { get; set; } = new();

    [Description("When checkpoints are written and how many are kept.")]
    public SavingSection Saving { get; set; } = new();

    [Description("Sample images drawn while training.")]
    public SamplingSection Sampling { get; set; } = new();

    [Description("Loss logging and the loss spike guard.")]
    public MonitoringSection Monitoring { get; set; } = new();

    /// <summary>A deep copy (sections are mutable so PowerShell can build them from hashtables).</summary>
    public KohyaHyperparameterSet Clone() => new()
    {
        Model = Model.Clone(),
        Network = Network.Clone(),
        Optimizer = Optimizer.Clone(),
        LRSchedule = LRSchedule.Clone(),
        Diffusion = Diffusion.Clone(),
        Data = Data.Clone(),
        Resources = Resources.Clone(),
        Training = Training.Clone(),
        Saving = Saving.Clone(),
        Sampling = Sampling.Clone(),
        Monitoring = Monitoring.Clone(),
    };
}
