using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Sampling;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Draws sample images from a checkpoint: prompts given inline or in a kohya prompts file, one or more seeds per
/// prompt, PNG files and a grid in an output folder, one KohyaSample per image.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "KohyaSample", SupportsShouldProcess = true)]
[OutputType(typeof(KohyaSample))]
public sealed class InvokeKohyaSampleCommand : KohyaAsyncCmdlet
{
    private const int ActivityId = 4713;

    /// <summary>A checkpoint folder or a run folder (its newest good checkpoint); binds Path of pipeline objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "CheckpointPath")]
    public string Path { get; set; } = "";

    /// <summary>Prompts in the prompt-line format (options after " --").</summary>
    [Parameter(Position = 1)]
    public string[]? Prompt { get; set; }

    /// <summary>A kohya prompts file.</summary>
    [Parameter]
    public string? PromptFile { get; set; }

    /// <summary>Images per prompt, with seeds Seed, Seed+1, ….</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int Count { get; set; } = 1;

    /// <summary>First seed of each prompt (a prompt's --d wins).</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long? Seed { get; set; }

    /// <summary>Denoising steps (a prompt's --s wins).</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int? Steps { get; set; }

    /// <summary>Classifier-free guidance scale (a prompt's --l wins).</summary>
    [Parameter]
    [ValidateRange(0.0, 100.0)]
    public double? GuidanceScale { get; set; }

    /// <summary>ddpm, ddim, euler or k_euler.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(SamplerNameCompleter))]
    public string? Sampler { get; set; }

    /// <summary>Width in pixels (a prompt's --w wins).</summary>
    [Parameter]
    [ValidateRange(8, 4096)]
    public int? Width { get; set; }

    /// <summary>Height in pixels (a prompt's --h wins).</summary>
    [Parameter]
    [ValidateRange(8, 4096)]
    public int? Height { get; set; }

    /// <summary>The negative prompt (a prompt's --n wins).</summary>
    [Parameter]
    public string? NegativePrompt { get; set; }

    /// <summary>The output folder; default &lt;run&gt;/samples/manual-&lt;step&gt;.</summary>
    [Parameter]
    public string? OutputPath { get; set; }

    /// <summary>Write into an output folder that already holds files.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var request = new SampleRequest
        {
            Path = ResolveFileSystemPath(Path),
            Prompts = Prompt ?? Array.Empty<string>(),
            PromptFile = PromptFile is null ? null : ResolveFileSystemPath(PromptFile),
            Count = Count,
            Seed = Seed,
            Steps = Steps,
            GuidanceScale = GuidanceScale,
            Sampler = Sampler,
            Width = Width,
            Height = Height,
            NegativePrompt = NegativePrompt,
            OutputPath = OutputPath is null ? null : ResolveFileSystemPath(OutputPath),
            Overwrite = Force,
        };
        SamplePlan plan;
        try
        {
            plan = Plan(request);
        }
        catch (Exception ex)
        {
            WriteEngineError(ex, request.Path);
            return;
        }
        foreach (var warning in plan.Warnings) WriteWarning(warning);
        if (!ShouldProcess(plan.OutputDirectory, $"Draw {plan.Jobs.Count} sample image(s) from '{plan.Checkpoint}'"))
            return;
        try
        {
            string activity = $"Sampling {System.IO.Path.GetFileName(plan.Checkpoint)}";
            var samples = RunWithProgress((report, token) =>
            {
                var result = Run(plan, p => report(Progress(activity, p)), token);
                report(ProgressRecords.Completed(ActivityId, activity));
                return result;
            });
            WriteObject(samples, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, plan.Checkpoint);
        }
    }

    private static ProgressRecord Progress(string activity, SampleProgress p) =>
        new(ActivityId, activity, p.Job is { } job ? $"Image {p.Done + 1} of {p.Total}: '{job.Prompt}' seed {job.Seed}" : $"{p.Total} images written")
        {
            PercentComplete = p.Total == 0 ? 100 : p.Done * 100 / p.Total,
        };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static SamplePlan Plan(SampleRequest request) => CheckpointSampling.Plan(request);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<KohyaSample> Run(SamplePlan plan, Action<SampleProgress> progress, CancellationToken token) =>
        CheckpointSampling.Run(plan, progress, token);

    /// <summary>Tab completion for -Sampler: the engine's supported names matching what was typed.</summary>
    private sealed class SamplerNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var pattern = WildcardPattern.Get(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
            return Names().Where(pattern.IsMatch).Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static IReadOnlyList<string> Names() => SamplerNames.Supported;
    }
}
