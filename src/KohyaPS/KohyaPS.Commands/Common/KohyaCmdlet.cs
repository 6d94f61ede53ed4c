using System.Management.Automation;

namespace KohyaPS.Commands.Common;

/// <summary>
/// Shared plumbing for every KohyaPS cmdlet: engine failures become error records with specific ids,
/// and PowerShell paths resolve through the provider. Cmdlets stay thin: bind, call the engine, write.
/// </summary>
public abstract class KohyaCmdlet : PSCmdlet
{
    /// <summary>Writes a non-terminating error for an engine failure.</summary>
    protected void WriteEngineError(Exception exception, object? target = null) =>
        WriteError(ErrorRecordFactory.FromException(exception, target));

    /// <summary>Stops the cmdlet with a terminating error for an engine failure.</summary>
    protected void ThrowEngineError(Exception exception, object? target = null) =>
        ThrowTerminatingError(ErrorRecordFactory.FromException(exception, target));

    /// <summary>Resolves a path (wildcards not expanded) to a file-system path through the provider.</summary>
    protected string ResolveFileSystemPath(string path) =>
        SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
}
