using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Training;
using KohyaPS.Engine.Unattended;

namespace KohyaPS.Commands.Commands;

/// <summary>The parameters Invoke- and Start-KohyaTraining share, and their translation to a request.</summary>
public abstract class TrainingCommandBase : KohyaAsyncCmdlet
{
    protected const string ConfigSet = "Config";
    protected const string ObjectSet = "Object";

    /// <summary>A hyperparameter YAML file.</summary>
    [Parameter(ParameterSetName = ConfigSet)]
    public string? ConfigPath { get; set; }

    /// <summary>A hyperparameter set object.</summary>
    [Parameter(ParameterSetName = ObjectSet, ValueFromPipeline = true)]
    public KohyaHyperparameterSet? HyperparameterSet { get; set; }

    /// <summary>A DreamBooth folder or kohya dataset TOML.</summary>
    [Parameter]
    public string? DatasetPath { get; set; }

    /// <summary>The run folder.</summary>
    [Parameter(Mandatory = true)]
    public string OutputPath { get; set; } = "";

    /// <summary>Cumulative optimizer steps to reach.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long? MaxSteps { get; set; }

    /// <summary>Checkpoint cadence in optimizer steps.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? SaveEveryNSteps { get; set; }

    /// <summary>Checkpoint cadence in epochs.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? SaveEveryNEpochs { get; set; }

    /// <summary>Keep only the newest N checkpoints.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? KeepLast { get; set; }

    /// <summary>Keep checkpoints at multiples of M steps for good.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? KeepEvery { get; set; }

    /// <summary>Model size preset override.</summary>
    [Parameter]
    [ValidateSet("tiny", "small", "tiny-sd", "sd15", IgnoreCase = true)]
    public string? Preset { get; set; }

    /// <summary>Stable Diffusion 1.x weights to start from (Model.Path): a diffusers folder or a single-file .safetensors checkpoint; needs a latent preset.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ModelPath { get; set; }

    /// <summary>A folder with CLIP's vocab.json and merges.txt (Model.TokenizerPath), for a single-file -ModelPath.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TokenizerPath { get; set; }

    /// <summary>Seed override.</summary>
    [Parameter]
    public long? Seed { get; set; }

    /// <summary>What is trained: None (the model's own weights) or LoRA (adapters on a frozen base); sets Network.Type.</summary>
    [Parameter]
    [ValidateSet("None", "LoRA", IgnoreCase = true)]
    public string? Network { get; set; }

    /// <summary>LoRA rank (Network.Dim, kohya network_dim).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int? NetworkDim { get; set; }

    /// <summary>LoRA alpha (Network.Alpha, kohya network_alpha); 0 means the rank.</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double? NetworkAlpha { get; set; }

    /// <summary>A kohya-format LoRA file to start the adapters from (weights only; the optimizer starts fresh).</summary>
    [Parameter]
    public string? NetworkWeights { get; set; }

    /// <summary>Use (and create if needed) the embedded demo dataset.</summary>
    [Parameter]
    public SwitchParameter Demo { get; set; }

    /// <summary>Builds the engine request from the bound parameters.</summary>
    protected TrainingRequest BuildRequest()
    {
        var set = ConfigPath is not null ? LoadConfig(ResolveFileSystemPath(ConfigPath)) : (HyperparameterSet?.Clone() ?? new KohyaHyperparameterSet());
        if (MaxSteps is { } steps) set.Training.MaxSteps = steps;
        if (SaveEveryNSteps is { } every) set.Saving.SaveEveryNSteps = every;
        if (SaveEveryNEpochs is { } epochs) set.Saving.SaveEveryNEpochs = epochs;
        if (KeepLast is { } keepLast) set.Saving.KeepLast = keepLast;
        if (KeepEvery is { } keepEvery) set.Saving.KeepEvery = keepEvery;
        if (Preset is not null) set.Model.Preset = Preset.ToLowerInvariant();
        if (ModelPath is not null) set.Model.Path = ResolveFileSystemPath(ModelPath);
        if (TokenizerPath is not null) set.Model.TokenizerPath = ResolveFileSystemPath(TokenizerPath);
        if (Seed is { } seed) set.Training.Seed = seed;
        if (Network is not null) set.Network.Type = Network.ToLowerInvariant();
        if (NetworkDim is { } dim) set.Network.Dim = dim;
        if (NetworkAlpha is { } alpha) set.Network.Alpha = alpha;
        if (DatasetPath is null && !Demo)
            ThrowTerminatingError(ErrorRecordFactory.Create("DatasetNotSpecified", ErrorCategory.InvalidArgument,
                "No dataset: give -DatasetPath (a DreamBooth folder or dataset TOML) or -Demo.", null,
                "Use -Demo to train on the embedded synthetic dataset."));
        return new TrainingRequest
        {
            Hyperparameters = set,
            DatasetPath = DatasetPath is null ? null : ResolveFileSystemPath(DatasetPath),
            OutputPath = ResolveFileSystemPath(OutputPath),
            Demo = Demo,
            NetworkWeightsPath = NetworkWeights is null ? null : ResolveFileSystemPath(NetworkWeights),
        };
    }

    /// <summary>Runs a fresh start, journaled in the run's logs/kohyaps.log (a start line, then a stop or failure line).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    protected static KohyaTrainingResult TrainJournaled(TrainingRequest request, string command, ITrainingObserver observer, CancellationToken token) =>
        JournaledTraining.Start(request, command, observer, token);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaHyperparameterSet LoadConfig(string path) => HyperparameterYaml.Load(path);
}
