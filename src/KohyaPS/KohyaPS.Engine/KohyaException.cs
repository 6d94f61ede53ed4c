namespace KohyaPS.Engine;

/// <summary>What kind of failure an engine error is; the cmdlets map it to a PowerShell error category.</summary>
public enum KohyaErrorKind
{
    InvalidArgument,
    InvalidData,
    ObjectNotFound,
    ResourceUnavailable,
    ResourceBusy,
    OperationStopped,
    InvalidOperation,
    PermissionDenied,
    WriteError,
    NotImplemented,
}

/// <summary>
/// Base of every error the engine raises on purpose. <see cref="ErrorId"/> is the stable identifier users
/// and scripts match on (it becomes the FullyQualifiedErrorId's first part); <see cref="Kind"/> picks the
/// category; <see cref="Target"/> is the object the error is about (a path, a setting name).
/// </summary>
public class KohyaException : Exception
{
    public KohyaException(string errorId, KohyaErrorKind kind, string message, Exception? inner = null, object? target = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }

    public KohyaErrorKind Kind { get; }

    public object? Target { get; }

    /// <summary>What the user can do about it, shown as the error's recommended action.</summary>
    public string? RecommendedAction { get; init; }
}
