using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring;

/// <summary>
/// Appends every monitor event raised on <see cref="TrainingContext.EventRaised"/> (spike, rollback, early stop, …) to
/// <c>&lt;run&gt;/logs/events.jsonl</c>: step, time, segment, kind, action, message, value, threshold. An event without
/// a time or segment gets the current ones.
/// </summary>
public sealed class EventLogHook : ITrainingHook, IDisposable
{
    public const string FileName = "events.jsonl";
    private readonly JsonLinesAppender _log;
    private TrainingContext? _context;

    public EventLogHook(string runDirectory)
    {
        _log = new JsonLinesAppender(Path.Combine(runDirectory, "logs", FileName));
    }

    public string LogPath => _log.Path;

    public void OnRunStarted(TrainingContext context)
    {
        _log.Open();
        _context = context;
        context.EventRaised += OnEvent;
    }

    public void OnRunEnded(TrainingContext context, string status) => Dispose();

    public void Dispose()
    {
        if (_context is not null)
            _context.EventRaised -= OnEvent;
        _context = null;
        _log.Dispose();
    }

    private void OnEvent(KohyaTrainingEvent e)
    {
        string segment = e.Segment.Length > 0 ? e.Segment : _context?.SegmentId ?? "";
        _log.Append(json =>
        {
            json.WriteNumber("step", e.Step);
            JsonLinesAppender.WriteTime(json, "time", e.Time == default ? DateTime.UtcNow : e.Time);
            json.WriteString("segment", segment);
            json.WriteString("kind", e.Kind);
            json.WriteString("action", e.Action);
            json.WriteString("message", e.Message);
            if (e.Value is { } value) JsonLinesAppender.WriteDouble(json, "value", value);
            if (e.Threshold is { } threshold) JsonLinesAppender.WriteDouble(json, "threshold", threshold);
        });
    }
}
