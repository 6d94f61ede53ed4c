namespace KohyaPS.Engine.Training;

/// <summary>
/// Lets another process stop a training: Stop-KohyaTraining writes <c>&lt;run&gt;/stop.request</c>; this hook
/// sees it after the next step, asks the loop to stop (which saves), and removes the file.
/// </summary>
public sealed class StopRequestHook : ITrainingHook
{
    public const string FileName = "stop.request";
    private readonly string _path;

    public StopRequestHook(string runDirectory)
    {
        _path = Path.Combine(runDirectory, FileName);
    }

    /// <summary>A request left from before this segment started is stale: remove it.</summary>
    public void OnRunStarted(TrainingContext context) => File.Delete(_path);

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        if (!File.Exists(_path))
            return;
        string reason = "stop requested";
        try
        {
            string text = File.ReadAllText(_path).Trim();
            if (text.Length > 0) reason = text;
            File.Delete(_path);
        }
        catch (IOException)
        {
            // Still being written by the requester: act on it anyway.
        }
        context.RequestStop(reason);
    }

    /// <summary>Asks the training in <paramref name="runDirectory"/> to save and stop.</summary>
    public static void Request(string runDirectory, string reason)
    {
        File.WriteAllText(Path.Combine(runDirectory, FileName), reason);
    }
}
