using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Commands.Commands;

/// <summary>Reads a hyperparameter set from YAML and validates it.</summary>
[Cmdlet(VerbsData.Import, "KohyaHyperparameterSet")]
[OutputType(typeof(KohyaHyperparameterSet))]
public sealed class ImportKohyaHyperparameterSetCommand : KohyaCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LiteralPath")]
    public string[] Path { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var path in Path)
        {
            string resolved = ResolveFileSystemPath(path);
            try
            {
                WriteObject(Load(resolved));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteEngineError(ex, resolved);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaHyperparameterSet Load(string path)
    {
        var set = HyperparameterYaml.Load(path);
        HyperparameterValidator.Validate(set);
        return set;
    }
}
