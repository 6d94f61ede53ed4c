using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Commands.Commands;

/// <summary>Writes a hyperparameter set to a YAML file (validated first; each option with its description as a comment).</summary>
[Cmdlet(VerbsData.Export, "KohyaHyperparameterSet", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportKohyaHyperparameterSetCommand : KohyaExportFileCmdlet<KohyaHyperparameterSet>
{
    protected override string ExistsErrorId => "HyperparameterFileExists";

    protected override string Describe(KohyaHyperparameterSet item) => "Write hyperparameter set";

    [MethodImpl(MethodImplOptions.NoInlining)]
    protected override void Write(KohyaHyperparameterSet item, string path)
    {
        HyperparameterValidator.Validate(item);
        File.WriteAllText(path, HyperparameterYaml.Serialize(item));
    }
}
