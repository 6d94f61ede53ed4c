using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring;

/// <summary>
/// Appends one JSON object per optimizer step to <c>&lt;run&gt;/logs/train.jsonl</c>: step (1-based,
/// cumulative), epoch, loss, lr, grad_norm, samples_per_second, time (UTC, ISO 8601), segment. Each line
/// is flushed as written, so a killed run loses at most the line being written; a resumed run appends.
/// </summary>
public sealed class LossLogHook : ITrainingHook, IDisposable
{
    public const string FileName = "train.jsonl";
    private readonly JsonLinesAppender _log;

    public LossLogHook(string runDirectory)
    {
        _log = new JsonLinesAppender(Path.Combine(runDirectory, "logs", FileName));
    }

    public string LogPath => _log.Path;

    public void OnRunStarted(TrainingContext context) => _log.Open();

    public void OnStepEnded(TrainingContext context, StepReport report) =>
        _log.Append(json =>
        {
            json.WriteNumber("step", report.Step);
            json.WriteNumber("epoch", report.Epoch);
            JsonLinesAppender.WriteDouble(json, "loss", report.Loss);
            JsonLinesAppender.WriteDouble(json, "lr", report.LearningRate);
            JsonLinesAppender.WriteDouble(json, "grad_norm", report.GradNorm);
            JsonLinesAppender.WriteDouble(json, "samples_per_second", report.Seconds > 0 ? report.Samples / report.Seconds : 0);
            JsonLinesAppender.WriteTime(json, "time", DateTime.UtcNow);
            json.WriteString("segment", context.SegmentId);
        });

    public void OnRunEnded(TrainingContext context, string status) => Dispose();

    public void Dispose() => _log.Dispose();
}
