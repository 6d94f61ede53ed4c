using KohyaPS.Contracts;

namespace KohyaPS.Engine.Checkpoints.Verification;

/// <summary>The checks of one test, in the order they ran, with the failures that later checks depend on.</summary>
internal sealed class CheckList
{
    private readonly List<KohyaCheckpointCheck> _checks = new();

    public IReadOnlyList<KohyaCheckpointCheck> Checks => _checks;

    public bool AnyFailed => _checks.Any(c => c.Status == KohyaCheckStatus.Fail);

    public void Pass(string name, string message) => Add(name, KohyaCheckStatus.Pass, message, "");

    public void Warn(string name, string errorId, string message) => Add(name, KohyaCheckStatus.Warn, message, errorId);

    public void Fail(string name, string errorId, string message) => Add(name, KohyaCheckStatus.Fail, message, errorId);

    public void Fail(string name, KohyaException error) => Fail(name, error.ErrorId, error.Message);

    public void Skip(string name, string reason) => Add(name, KohyaCheckStatus.Skipped, reason, "");

    /// <summary>
    /// Runs one check that reads something: a typed error becomes a Fail with its own id, an I/O error a Fail
    /// with <c>CheckpointFileUnreadable</c>. Returns the value read, or default when the check failed.
    /// </summary>
    public T? Run<T>(string name, Func<T> read, Func<T, string> describe) where T : class
    {
        try
        {
            var value = read();
            Pass(name, describe(value));
            return value;
        }
        catch (KohyaException ex)
        {
            Fail(name, ex);
        }
        catch (FileNotFoundException ex)
        {
            Fail(name, "CheckpointFileMissing", $"{Path.GetFileName(ex.FileName)} is missing.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(name, "CheckpointFileUnreadable", ex.Message);
        }
        return null;
    }

    private void Add(string name, KohyaCheckStatus status, string message, string errorId) =>
        _checks.Add(new KohyaCheckpointCheck { Name = name, Status = status, Message = message, ErrorId = errorId });
}
