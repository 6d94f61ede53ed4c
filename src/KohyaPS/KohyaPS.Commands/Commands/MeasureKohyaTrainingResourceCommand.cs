using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Resources;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Estimates the parameters, device memory (weights, gradients, optimizer state, activations) and checkpoint size a
/// training configuration needs, and whether it fits a device, before anything is allocated.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "KohyaTrainingResource", DefaultParameterSetName = PresetSet)]
[OutputType(typeof(KohyaTrainingResourceEstimate))]
public sealed class MeasureKohyaTrainingResourceCommand : KohyaCmdlet
{
    private const string PresetSet = "Preset";
    private const string SetSet = "HyperparameterSet";

    /// <summary>A hyperparameter preset (tiny, small, sd15) as New-KohyaHyperparameterSet makes it.</summary>
    [Parameter(Position = 0, ParameterSetName = PresetSet)]
    [ValidateSet("tiny", "small", "tiny-sd", "sd15", IgnoreCase = true)]
    public string Preset { get; set; } = "sd15";

    /// <summary>A set, a hashtable, a checkpoint or a YAML path; from the pipeline too.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = SetSet)]
    public object HyperparameterSet { get; set; } = null!;

    /// <summary>Overrides Data.BatchSize.</summary>
    [Parameter]
    [ValidateRange(1, 4096)]
    public int? BatchSize { get; set; }

    /// <summary>Overrides Data.Resolution (pixels).</summary>
    [Parameter]
    [ValidateRange(8, 8192)]
    public int? Resolution { get; set; }

    /// <summary>Overrides Resources.Dtype: the compute dtype.</summary>
    [Parameter]
    [ValidateSet("float32", "bfloat16", "float16", IgnoreCase = true)]
    public string? Dtype { get; set; }

    /// <summary>Estimate with gradient checkpointing (block inputs kept, blocks recomputed in the backward pass).</summary>
    [Parameter]
    public SwitchParameter GradientCheckpointing { get; set; }

    /// <summary>Device memory in bytes to compare against (e.g. 8GB); default: the CUDA device's total from the driver.</summary>
    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long? DeviceMemory { get; set; }

    protected override void ProcessRecord()
    {
        object target = ParameterSetName == SetSet ? HyperparameterSet : Preset;
        try
        {
            var settings = ParameterSetName == SetSet
                ? HyperparameterArguments.ToSet(HyperparameterSet, nameof(HyperparameterSet), ResolveFileSystemPath)
                : FromPreset(Preset);
            // Without -GradientCheckpointing the set's Resources.GradientCheckpointing decides.
            bool? checkpointing = MyInvocation.BoundParameters.ContainsKey(nameof(GradientCheckpointing)) ? GradientCheckpointing.IsPresent : null;
            WriteObject(Estimate(settings, BatchSize, Resolution, Dtype, checkpointing, DeviceMemory));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, target);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaHyperparameterSet FromPreset(string preset) => HyperparameterPresets.Create(preset);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaTrainingResourceEstimate Estimate(KohyaHyperparameterSet settings, int? batchSize, int? resolution, string? dtype,
        bool? checkpointing, long? deviceMemory) =>
        TrainingResourceEstimator.Estimate(new TrainingResourceRequest(settings)
        {
            BatchSize = batchSize,
            Resolution = resolution,
            Dtype = dtype,
            GradientCheckpointing = checkpointing,
            DeviceMemoryBytes = deviceMemory ?? TrainingResourceEstimator.DeviceMemoryFor(settings),
        });
}
