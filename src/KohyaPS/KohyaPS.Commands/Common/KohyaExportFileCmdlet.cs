using System.Management.Automation;

namespace KohyaPS.Commands.Common;

/// <summary>
/// Base of the Export-* cmdlets that write one pipeline object to one file: an existing file is an error
/// unless -Force, -WhatIf/-Confirm are honoured, -PassThru returns the file.
/// </summary>
public abstract class KohyaExportFileCmdlet<T> : KohyaCmdlet where T : class
{
    /// <summary>The object to write.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public T InputObject { get; set; } = null!;

    /// <summary>The file to write.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Return the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>The error id for a target that exists without -Force.</summary>
    protected abstract string ExistsErrorId { get; }

    /// <summary>What -WhatIf says is written.</summary>
    protected abstract string Describe(T item);

    /// <summary>Writes the file (through the engine).</summary>
    protected abstract void Write(T item, string path);

    protected override void ProcessRecord()
    {
        string resolved = ResolveFileSystemPath(Path);
        if (File.Exists(resolved) && !Force)
        {
            WriteError(ErrorRecordFactory.Create(ExistsErrorId, ErrorCategory.ResourceExists,
                $"'{resolved}' already exists.", resolved, "Use -Force to overwrite it."));
            return;
        }
        if (!ShouldProcess(resolved, Describe(InputObject)))
            return;
        try
        {
            Write(InputObject, resolved);
            if (PassThru)
                WriteObject(new FileInfo(resolved));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, resolved);
        }
    }
}
