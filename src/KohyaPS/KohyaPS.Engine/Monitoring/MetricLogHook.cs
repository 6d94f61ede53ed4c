using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring;

/// <summary>
/// Appends every scalar published on <see cref="TrainingContext.MetricReported"/> (val_loss, …) to
/// <c>&lt;run&gt;/logs/metrics.jsonl</c>: step, name, value, time, segment — one flushed line each.
/// </summary>
public sealed class MetricLogHook : ITrainingHook, IDisposable
{
    public const string FileName = "metrics.jsonl";
    private readonly JsonLinesAppender _log;
    private TrainingContext? _context;

    public MetricLogHook(string runDirectory)
    {
        _log = new JsonLinesAppender(Path.Combine(runDirectory, "logs", FileName));
    }

    public string LogPath => _log.Path;

    public void OnRunStarted(TrainingContext context)
    {
        _log.Open();
        _context = context;
        context.MetricReported += OnMetric;
    }

    public void OnRunEnded(TrainingContext context, string status) => Dispose();

    public void Dispose()
    {
        if (_context is not null)
            _context.MetricReported -= OnMetric;
        _context = null;
        _log.Dispose();
    }

    private void OnMetric(MetricReport metric)
    {
        string segment = _context?.SegmentId ?? "";
        _log.Append(json =>
        {
            json.WriteNumber("step", metric.Step);
            json.WriteString("name", metric.Name);
            JsonLinesAppender.WriteDouble(json, "value", metric.Value);
            JsonLinesAppender.WriteTime(json, "time", DateTime.UtcNow);
            json.WriteString("segment", segment);
        });
    }
}
