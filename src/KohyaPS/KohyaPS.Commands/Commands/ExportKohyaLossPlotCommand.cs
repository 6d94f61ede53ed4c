using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Monitoring;
using KohyaPS.Engine.Monitoring.Plotting;

namespace KohyaPS.Commands.Commands;

/// <summary>Draws a run's loss, smoothed loss, learning rate, validation loss and resume points to a PNG file.</summary>
[Cmdlet(VerbsData.Export, "KohyaLossPlot", SupportsShouldProcess = true, DefaultParameterSetName = RecordSet)]
[OutputType(typeof(FileInfo))]
public sealed class ExportKohyaLossPlotCommand : KohyaCmdlet
{
    private const string RecordSet = "Records";
    private const string RunSet = "Run";
    private readonly List<KohyaTrainingLogRecord> _records = new();

    /// <summary>The PNG file to write.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    /// <summary>Training log records (from Get-KohyaTrainingLog or Watch-KohyaTraining).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = RecordSet)]
    public KohyaTrainingLogRecord[] InputObject { get; set; } = Array.Empty<KohyaTrainingLogRecord>();

    /// <summary>A run folder whose whole stitched log is drawn.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RunSet)]
    [Alias("OutputPath")]
    public string RunPath { get; set; } = "";

    /// <summary>EMA weight of the previous value for the smoothed loss (0 ≤ s &lt; 1; 0 draws no smoothed line).</summary>
    [Parameter]
    [ValidateRange(0.0, 0.999)]
    public double Smoothing { get; set; } = 0.9;

    [Parameter]
    [ValidateRange(200, 10000)]
    public int Width { get; set; } = 1000;

    [Parameter]
    [ValidateRange(150, 10000)]
    public int Height { get; set; } = 560;

    /// <summary>Text above the plot; default: the run's name.</summary>
    [Parameter]
    public string? Title { get; set; }

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Return the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => _records.AddRange(InputObject.Where(r => r is not null));

    protected override void EndProcessing()
    {
        string target = ResolveFileSystemPath(Path);
        if (File.Exists(target) && !Force)
        {
            WriteError(ErrorRecordFactory.Create("LossPlotExists", ErrorCategory.ResourceExists, $"'{target}' already exists.", target, "Use -Force to overwrite it."));
            return;
        }
        try
        {
            var records = ParameterSetName == RunSet ? ReadRun(ResolveFileSystemPath(RunPath)) : _records.Where(r => !r.IsSuperseded).OrderBy(r => r.Step).ToList();
            string title = Title ?? string.Join(", ", records.Select(r => r.Run).Where(r => r.Length > 0).Distinct());
            if (!ShouldProcess(target, $"Write a loss plot of {records.Count} steps"))
                return;
            Draw(records, new LossPlotOptions { Width = Width, Height = Height, Smoothing = Smoothing, Title = title }, target);
            if (PassThru)
                WriteObject(new FileInfo(target));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, target);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<KohyaTrainingLogRecord> ReadRun(string run) =>
        TrainingLogReader.Read(TrainingLogFiles.RunOf(run), new TrainingLogQuery()).ToList();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Draw(IReadOnlyList<KohyaTrainingLogRecord> records, LossPlotOptions options, string path) =>
        LossPlot.Write(records, options, path);
}
