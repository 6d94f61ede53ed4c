using KohyaPS.Contracts;

namespace KohyaPS.Engine.Training;

/// <summary>
/// How the engine talks back to whoever runs it (a cmdlet, a job, a test) without knowing PowerShell:
/// progress after every optimizer step, warnings, and verbose notes. Called on the training thread;
/// implementations marshal to wherever they must.
/// </summary>
public interface ITrainingObserver
{
    void Progress(KohyaTrainingProgress progress);

    void Warning(string message);

    void Verbose(string message);
}

/// <summary>An observer that ignores everything (tests, benchmarks).</summary>
public sealed class NullTrainingObserver : ITrainingObserver
{
    public static readonly NullTrainingObserver Instance = new();

    public void Progress(KohyaTrainingProgress progress) { }

    public void Warning(string message) { }

    public void Verbose(string message) { }
}
