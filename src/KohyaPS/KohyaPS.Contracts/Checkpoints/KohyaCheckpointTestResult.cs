namespace KohyaPS.Contracts;

/// <summary>The outcome of one check: Pass, Warn (usable, but read the message), Fail, or Skipped (a check it depends on failed).</summary>
public enum KohyaCheckStatus
{
    Pass,
    Warn,
    Fail,
    Skipped,
}

/// <summary>One check Test-KohyaCheckpoint ran.</summary>
public sealed class KohyaCheckpointCheck
{
    public string Name { get; init; } = "";
    public KohyaCheckStatus Status { get; init; }
    public string Message { get; init; } = "";

    /// <summary>A stable identifier for a Warn or Fail (e.g. <c>ChecksumMismatch</c>); empty for Pass.</summary>
    public string ErrorId { get; init; } = "";

    public override string ToString() => $"{Status} {Name}: {Message}";
}

/// <summary>
/// What Test-KohyaCheckpoint found. Carries the properties Resume-KohyaTraining binds to (<c>Path</c>), so
/// <c>Get-KohyaCheckpoint | Test-KohyaCheckpoint | Resume-KohyaTraining</c> works; Resume refuses a result
/// whose <c>IsValid</c> is false.
/// </summary>
public sealed class KohyaCheckpointTestResult
{
    /// <summary>The checkpoint folder or file tested.</summary>
    public string Path { get; init; } = "";
    public string Name { get; init; } = "";
    public string RunPath { get; init; } = "";
    public string Run { get; init; } = "";

    /// <summary>Cumulative step (from the state file when readable, else from the name; -1 when unknown).</summary>
    public long Step { get; init; }
    public int Epoch { get; init; }

    /// <summary>KohyaPS, SdScriptsState, DiffusersCheckpoint, OneTrainerBackup, KohyaLora or Unknown.</summary>
    public string Format { get; init; } = "";

    /// <summary>No check failed (warnings allowed).</summary>
    public bool IsValid { get; init; }

    /// <summary>Every tensor was read and scanned for NaN/Inf (-Deep).</summary>
    public bool Deep { get; init; }

    public IReadOnlyList<KohyaCheckpointCheck> Checks { get; init; } = Array.Empty<KohyaCheckpointCheck>();

    public int FailCount => Checks.Count(c => c.Status == KohyaCheckStatus.Fail);
    public int WarnCount => Checks.Count(c => c.Status == KohyaCheckStatus.Warn);

    /// <summary>Facts found on the way (a LoRA's dim/alpha, ss_* metadata, a state folder's epoch …), by name.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    public TimeSpan Duration { get; init; }

    public override string ToString() => Path;
}
