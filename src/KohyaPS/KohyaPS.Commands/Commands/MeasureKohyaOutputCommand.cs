using System.Globalization;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Metrics;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Measures generated images per checkpoint: FID against reference images, prompt alignment (demo classifier),
/// consistency of repeated prompt/seed pairs and diversity across seeds. Input binds Path, Prompt, Seed,
/// Checkpoint and Step by property name (the objects Invoke-KohyaSample writes).
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "KohyaOutput")]
[OutputType(typeof(KohyaOutputMetrics))]
public sealed class MeasureKohyaOutputCommand : KohyaAsyncCmdlet
{
    private const int ProgressActivityId = 4715;
    private const string Activity = "Measure-KohyaOutput";

    private readonly List<Input> _inputs = new();

    /// <summary>The image file of one sample.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName")]
    public string Path { get; set; } = "";

    /// <summary>The prompt the image was generated from (judged by prompt alignment).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string Prompt { get; set; } = "";

    /// <summary>The sampling seed; images sharing prompt and seed are checked for consistency.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public long? Seed { get; set; }

    /// <summary>The checkpoint the image came from; images are measured per checkpoint and step.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string Checkpoint { get; set; } = "";

    /// <summary>The training step of that checkpoint.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public long? Step { get; set; }

    /// <summary>Reference images for FID: a folder (searched recursively) or a dataset manifest .json.</summary>
    [Parameter]
    public string? Reference { get; set; }

    /// <summary>Demo (embedded classifier) or InceptionV3 (needs -InceptionWeights).</summary>
    [Parameter]
    [ValidateSet("Demo", "InceptionV3")]
    public string FeatureExtractor { get; set; } = "Demo";

    /// <summary>InceptionV3 weights as .safetensors (pytorch-fid / torchvision key names).</summary>
    [Parameter]
    public string? InceptionWeights { get; set; }

    protected override void BeginProcessing()
    {
        if (FeatureExtractor == "InceptionV3" && string.IsNullOrEmpty(InceptionWeights))
            ThrowTerminatingError(ErrorRecordFactory.Create("FeatureWeightsRequired", ErrorCategory.InvalidArgument,
                "The InceptionV3 feature extractor needs its weights.", FeatureExtractor,
                "Pass -InceptionWeights <file>: pytorch-fid's pt_inception weights (or torchvision's inception_v3) converted to .safetensors."));
    }

    protected override void ProcessRecord()
    {
        string path = ResolveFileSystemPath(Path);
        if (!File.Exists(path))
        {
            WriteError(ErrorRecordFactory.Create("SampleNotFound", ErrorCategory.ObjectNotFound, $"The sample image '{path}' does not exist.", path,
                "Pass the objects Invoke-KohyaSample wrote (their Path) or existing image files; this image is left out."));
            return;
        }
        _inputs.Add(new Input(path, Prompt ?? "", Seed, Checkpoint ?? "", Step));
    }

    protected override void EndProcessing()
    {
        if (Stopping || _inputs.Count == 0)
            return;
        string? reference = Reference is null ? null : ResolveFileSystemPath(Reference);
        string? weights = InceptionWeights is null ? null : ResolveFileSystemPath(InceptionWeights);
        IReadOnlyList<Result> results;
        try
        {
            results = RunWithProgress((report, token) => Measure(_inputs, reference, FeatureExtractor, weights, report, token));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException and not OutOfMemoryException)
        {
            ThrowEngineError(ex, reference);
            return;
        }
        foreach (var result in results)
        {
            if (result.FidError is not null)
                WriteError(ErrorRecordFactory.FromException(result.FidError, result.Metrics.Checkpoint));
            else if (result.Metrics.Fid is not null && Math.Min(result.Metrics.SampleCount, result.Metrics.ReferenceCount) <= result.FeatureDimension)
                WriteWarning(string.Create(CultureInfo.InvariantCulture,
                    $"FID of {result.Metrics.SampleCount} samples against {result.Metrics.ReferenceCount} reference images with {result.FeatureDimension}-dimensional features rests on a rank-deficient covariance; use more than {result.FeatureDimension} images in each set for a stable figure."));
            WriteObject(result.Metrics);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<Result> Measure(IReadOnlyList<Input> inputs, string? reference, string extractorName, string? weights,
        Action<ProgressRecord> report, CancellationToken token)
    {
        var samples = inputs.Select(i => new MetricsSample(i.Path, i.Prompt, i.Seed, i.Checkpoint, i.Step)).ToList();
        using var extractor = FeatureExtractors.Create(Enum.Parse<FeatureExtractorKind>(extractorName), weights);
        var progress = new ProgressReporter(report);
        var measured = new OutputEvaluator(extractor).MeasureAll(samples, reference, progress, token);
        return measured.Select(m => new Result(m.Metrics, m.FidError, m.FeatureDimension)).ToList();
    }

    /// <summary>Cmdlet-side copy of one bound input (engine types stay out of the cmdlet's fields).</summary>
    private sealed record Input(string Path, string Prompt, long? Seed, string Checkpoint, long? Step);

    private sealed record Result(KohyaOutputMetrics Metrics, Exception? FidError, int FeatureDimension);

    private sealed class ProgressReporter(Action<ProgressRecord> report) : IProgress<MetricsProgress>
    {
        public void Report(MetricsProgress value)
        {
            var record = new ProgressRecord(ProgressActivityId, Activity,
                string.Create(CultureInfo.InvariantCulture, $"{value.Stage}: {value.Done}/{value.Total} images"))
            {
                PercentComplete = value.PercentComplete,
            };
            if (value.Completed)
                record.RecordType = ProgressRecordType.Completed;
            report(record);
        }
    }
}
