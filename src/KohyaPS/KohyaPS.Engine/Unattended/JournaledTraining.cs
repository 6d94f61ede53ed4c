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
        Directory.CreateDirectory(run);
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
        Write(run, beginEvent, "Started", null, command);
        try
        {
            var result = work();
            Write(run, "stop", result.Status, (int)ExitCodes.ForResult(result), command);
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
            Write(run, "failure", outcome, (int)ExitCodes.ForException(ex), command);
            throw;
        }
    }

    /// <summary>Appends one line for this process; a log that cannot be written never fails the training.</summary>
    public static void Write(string run, string eventName, string outcome, int? exitCode, string command)
    {
        try
        {
            RunLog.Append(run, new RunLogEntry
            {
                TimeUtc = DateTime.UtcNow,
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
