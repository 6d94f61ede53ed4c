using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Commands.Commands;

/// <summary>Writes a hyperparameter set to a YAML file.</summary>
[Cmdlet(VerbsData.Export, "KohyaHyperparameterSet", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportKohyaHyperparameterSetCommand : KohyaCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public KohyaHyperparameterSet InputObject { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Return the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string resolved = ResolveFileSystemPath(Path);
        if (File.Exists(resolved) && !Force)
        {
            WriteError(ErrorRecordFactory.Create("HyperparameterFileExists", ErrorCategory.ResourceExists,
                $"'{resolved}' already exists.", resolved, "Use -Force to overwrite it."));
            return;
        }
        if (!ShouldProcess(resolved, "Write hyperparameter set"))
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Write(KohyaHyperparameterSet set, string path)
    {
        HyperparameterValidator.Validate(set);
        File.WriteAllText(path, HyperparameterYaml.Serialize(set));
    }
}
