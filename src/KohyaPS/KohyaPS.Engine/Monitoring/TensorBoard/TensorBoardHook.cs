using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring.TensorBoard;

/// <summary>
/// Writes the run's scalars as TensorBoard event files in <c>&lt;run&gt;/logs/</c>: per step loss, lr, grad_norm and
/// samples_per_second, and every metric published on <see cref="TrainingContext.MetricReported"/> under its name.
/// Each segment writes a new file. A resumed segment (or a step that goes back, as after a rollback) first writes a
/// <c>SessionLog START</c> at the first step it will write: TensorBoard then drops what it read at that step and
/// later, so the steps the interrupted segment wrote after its checkpoint do not stay in the curves beside the new ones.
/// </summary>
public sealed class TensorBoardHook : ITrainingHook, IDisposable
{
    public const string LossTag = "loss", LearningRateTag = "lr", GradNormTag = "grad_norm", SamplesPerSecondTag = "samples_per_second";
    private readonly string _logDirectory;
    private readonly string _host;
    private EventFileWriter? _writer;
    private TrainingContext? _context;
    private long _lastStep;

    public TensorBoardHook(string runDirectory, string? host = null)
    {
        _logDirectory = Path.Combine(runDirectory, "logs");
        _host = host ?? Environment.MachineName;
    }

    /// <summary>The file this segment writes (null before the run starts).</summary>
    public string? EventFilePath => _writer?.Path;

    public void OnRunStarted(TrainingContext context)
    {
        _writer = EventFileWriter.Create(_logDirectory, DateTime.UtcNow, _host);
        _lastStep = context.State.GlobalStep;
        if (_lastStep > 0)
            WriteStart(_lastStep + 1);
        _context = context;
        context.MetricReported += OnMetric;
    }

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        if (_writer is null)
            return;
        if (report.Step <= _lastStep)
            WriteStart(report.Step);
        _lastStep = report.Step;
        double samplesPerSecond = report.Seconds > 0 ? report.Samples / report.Seconds : 0;
        _writer.Write(new TensorBoardEvent
        {
            WallTime = TensorBoardEvent.WallTimeOf(DateTime.UtcNow),
            Step = report.Step,
            Scalars = new[]
            {
                new TensorBoardScalar(LossTag, (float)report.Loss),
                new TensorBoardScalar(LearningRateTag, (float)report.LearningRate),
                new TensorBoardScalar(GradNormTag, (float)report.GradNorm),
                new TensorBoardScalar(SamplesPerSecondTag, (float)samplesPerSecond),
            },
        });
    }

    public void OnRunEnded(TrainingContext context, string status) => Dispose();

    public void Dispose()
    {
        if (_context is not null)
            _context.MetricReported -= OnMetric;
        _context = null;
        _writer?.Dispose();
        _writer = null;
    }

    private void OnMetric(MetricReport metric) =>
        _writer?.Write(new TensorBoardEvent
        {
            WallTime = TensorBoardEvent.WallTimeOf(DateTime.UtcNow),
            Step = metric.Step,
            Scalars = new[] { new TensorBoardScalar(metric.Name, (float)metric.Value) },
        });

    private void WriteStart(long step) =>
        _writer!.Write(new TensorBoardEvent { WallTime = TensorBoardEvent.WallTimeOf(DateTime.UtcNow), Step = step, Session = SessionStatus.Start });
}
