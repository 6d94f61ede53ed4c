using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring;

/// <summary>
/// Records where every segment of a run starts and how it ends in <c>&lt;run&gt;/logs/segments.jsonl</c>: a
/// <c>start</c> line (segment, start_step, target_step, time, host, pid) before the first step and an <c>end</c>
/// line (segment, step, status, time) after the last. Watch-KohyaTraining learns the target and the end from it; a
/// segment without an end line was killed.
/// </summary>
public sealed class SegmentLogHook : ITrainingHook, IDisposable
{
    public const string FileName = "segments.jsonl";
    private readonly JsonLinesAppender _log;

    public SegmentLogHook(string runDirectory)
    {
        _log = new JsonLinesAppender(Path.Combine(runDirectory, "logs", FileName));
    }

    public string LogPath => _log.Path;

    public void OnRunStarted(TrainingContext context)
    {
        _log.Open();
        _log.Append(json =>
        {
            json.WriteString("event", "start");
            json.WriteString("segment", context.SegmentId);
            json.WriteNumber("start_step", context.State.GlobalStep);
            json.WriteNumber("target_step", context.TargetStep);
            JsonLinesAppender.WriteTime(json, "time", DateTime.UtcNow);
            json.WriteString("host", Environment.MachineName);
            json.WriteNumber("pid", Environment.ProcessId);
        });
    }

    public void OnRunEnded(TrainingContext context, string status)
    {
        _log.Append(json =>
        {
            json.WriteString("event", "end");
            json.WriteString("segment", context.SegmentId);
            json.WriteNumber("step", context.State.GlobalStep);
            json.WriteString("status", status);
            JsonLinesAppender.WriteTime(json, "time", DateTime.UtcNow);
        });
        Dispose();
    }

    public void Dispose() => _log.Dispose();
}
