using System.Management.Automation;
using KohyaPS.Engine;

namespace KohyaPS.Commands.Common;

/// <summary>The one place engine exceptions become PowerShell error records.</summary>
internal static class ErrorRecordFactory
{
    public static ErrorRecord FromException(Exception exception, object? target = null)
    {
        if (exception is KohyaException kohya)
        {
            var record = new ErrorRecord(kohya, kohya.ErrorId, Category(kohya.Kind), kohya.Target ?? target);
            if (kohya.RecommendedAction is not null)
                record.ErrorDetails = new ErrorDetails(kohya.Message) { RecommendedAction = kohya.RecommendedAction };
            return record;
        }
        var (id, category) = exception switch
        {
            OperationCanceledException => ("OperationStopped", ErrorCategory.OperationStopped),
            FileNotFoundException or DirectoryNotFoundException => ("PathNotFound", ErrorCategory.ObjectNotFound),
            UnauthorizedAccessException => ("AccessDenied", ErrorCategory.PermissionDenied),
            IOException => ("IOError", ErrorCategory.WriteError),
            ArgumentException => ("InvalidArgument", ErrorCategory.InvalidArgument),
            _ => ("UnexpectedError", ErrorCategory.NotSpecified),
        };
        return new ErrorRecord(exception, id, category, target);
    }

    public static ErrorRecord Create(string errorId, ErrorCategory category, string message, object? target, string? recommendedAction = null)
    {
        var record = new ErrorRecord(new InvalidOperationException(message), errorId, category, target);
        if (recommendedAction is not null)
            record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendedAction };
        return record;
    }

    private static ErrorCategory Category(KohyaErrorKind kind) => kind switch
    {
        KohyaErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        KohyaErrorKind.InvalidData => ErrorCategory.InvalidData,
        KohyaErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        KohyaErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        KohyaErrorKind.ResourceBusy => ErrorCategory.ResourceBusy,
        KohyaErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        KohyaErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        KohyaErrorKind.WriteError => ErrorCategory.WriteError,
        KohyaErrorKind.NotImplemented => ErrorCategory.NotImplemented,
        _ => ErrorCategory.InvalidOperation,
    };
}
