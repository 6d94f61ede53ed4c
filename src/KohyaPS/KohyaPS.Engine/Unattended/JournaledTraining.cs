using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Unattended;

/// <summary>
/// Runs a start or a resume through <see cref="TrainingRunner"/> and records it in the run's kohyaps.log:
/// a line when it begins and a line when it ends (outcome and exit code), written by the engine so every
/// caller — foreground cmdlet, job, scheduled task, a C# program — leaves the same trace.
/// </summary>
public static class JournaledTraining
{
    public static KohyaTrainingResult Start(TrainingRequest request, string command, ITrainingObserver observer, CancellationToken cancellation)
    {
        string run = Path.GetFullPath(request.OutputPath);
        return Journal(run, "start", command, () => TrainingRunner.Run(request, observer, cancellation));
    }

    public static KohyaTrainingResult Resume(ResumeRequest request, string command, ITrainingObserver observer, CancellationToken cancellation)
    {
        string run = RunOf(request);
        return Journal(run, "resume", command, () => TrainingRunner.Resume(request, observer, cancellation));
    }

    /// <summary>The run folder a resume request is about.</summary>
    public static string RunOf(ResumeRequest request) =>
        Path.GetFullPath(request.RunPath
            ?? Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(request.CheckpointPath ?? "."))!)!);

    private static KohyaTrainingResult Journal(string run, string beginEvent, string command, Func<KohyaTrainingResult> work)
    {
        // A fresh run's folder appears only once the trainer has validated its settings: its begin line is
        // then written after the fact, with the time it began, so a refused start leaves no folder behind.
        var begun = DateTime.UtcNow;
        bool beginWritten = Directory.Exists(run);
        if (beginWritten)
            Write(run, beginEvent, "Started", null, command, begun);
        void End(string eventName, string outcome, int exitCode)
        {
            if (!beginWritten && Directory.Exists(run))
                Write(run, beginEvent, "Started", null, command, begun);
            Write(run, eventName, outcome, exitCode, command);
        }
        try
        {
            var result = work();
            End("stop", result.Status, (int)ExitCodes.ForResult(result));
            return result;
        }
        catch (Exception ex)
        {
            string outcome = ex switch
            {
                KohyaException kohya => kohya.ErrorId,
                OperationCanceledException => "OperationStopped",
                _ => ex.GetType().Name,
            };
            End("failure", outcome, (int)ExitCodes.ForException(ex));
            throw;
        }
    }

    /// <summary>Appends one line for this process; a log that cannot be written never fails the training.</summary>
    public static void Write(string run, string eventName, string outcome, int? exitCode, string command, DateTime? timeUtc = null)
    {
        try
        {
            RunLog.Append(run, new RunLogEntry
            {
                TimeUtc = timeUtc ?? DateTime.UtcNow,
                Event = eventName,
                Outcome = outcome,
                ExitCode = exitCode,
                ProcessId = Environment.ProcessId,
                Host = Environment.MachineName,
                User = Environment.UserName,
                Command = command,
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The run log is a diagnostic trace; the checkpoints are the record.
        }
    }
}
