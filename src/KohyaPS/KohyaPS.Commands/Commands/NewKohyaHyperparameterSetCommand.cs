using System.Collections;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Commands.Commands;

/// <summary>Creates a validated hyperparameter set from a preset, common settings as parameters, and any option by name.</summary>
[Cmdlet(VerbsCommon.New, "KohyaHyperparameterSet")]
[OutputType(typeof(KohyaHyperparameterSet))]
public sealed class NewKohyaHyperparameterSetCommand : KohyaCmdlet
{
    /// <summary>The starting point: tiny, small (the defaults) or sd15.</summary>
    [Parameter(Position = 0)]
    [ValidateSet("tiny", "small", "tiny-sd", "sd15", IgnoreCase = true)]
    public string Preset { get; set; } = "small";

    /// <summary>Optimizer.LearningRate.</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double? LearningRate { get; set; }

    /// <summary>Optimizer.Type.</summary>
    [Parameter]
    [ValidateSet("AdamW", "Adam", "SGD", "Lion", IgnoreCase = true)]
    public string? Optimizer { get; set; }

    /// <summary>LRSchedule.Name.</summary>
    [Parameter]
    [ValidateSet("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial", IgnoreCase = true)]
    public string? LRScheduler { get; set; }

    /// <summary>LRSchedule.WarmupSteps.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? WarmupSteps { get; set; }

    /// <summary>Data.BatchSize.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? BatchSize { get; set; }

    /// <summary>Data.GradientAccumulationSteps.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? GradientAccumulationSteps { get; set; }

    /// <summary>Data.Resolution.</summary>
    [Parameter]
    [ValidateRange(8, 4096)]
    public int? Resolution { get; set; }

    /// <summary>Training.MaxSteps.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long? MaxSteps { get; set; }

    /// <summary>Training.Seed.</summary>
    [Parameter]
    public long? Seed { get; set; }

    /// <summary>Resources.Threads.</summary>
    [Parameter]
    [ValidateRange(0, 1024)]
    public int? Threads { get; set; }

    /// <summary>Saving.SaveEveryNSteps.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? SaveEveryNSteps { get; set; }

    /// <summary>Any options by name: @{ 'Optimizer.Beta2' = 0.99; Network = @{ Dim = 8 } }.</summary>
    [Parameter]
    public Hashtable? Property { get; set; }

    protected override void EndProcessing()
    {
        var direct = new List<KeyValuePair<string, object?>>();
        void Add(string option, object? value) { if (value is not null) direct.Add(new(option, value)); }
        Add("Optimizer.LearningRate", LearningRate);
        Add("Optimizer.Type", Optimizer);
        Add("LRSchedule.Name", LRScheduler?.ToLowerInvariant());
        Add("LRSchedule.WarmupSteps", WarmupSteps);
        Add("Data.BatchSize", BatchSize);
        Add("Data.GradientAccumulationSteps", GradientAccumulationSteps);
        Add("Data.Resolution", Resolution);
        Add("Training.MaxSteps", MaxSteps);
        Add("Training.Seed", Seed);
        Add("Resources.Threads", Threads);
        Add("Saving.SaveEveryNSteps", SaveEveryNSteps);
        try
        {
            WriteObject(Build(Preset, direct, HyperparameterArguments.Unwrap(Property)));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaHyperparameterSet Build(string preset, IReadOnlyList<KeyValuePair<string, object?>> direct, Hashtable? property)
    {
        var set = HyperparameterPresets.Create(preset);
        var changes = HyperparameterOverrides.From(property, "-Property");
        foreach (var (option, value) in direct)
            changes.Add(option, value, "-" + option.Split('.')[1]);
        changes.ApplyTo(set);
        HyperparameterValidator.Validate(set);
        return set;
    }
}
