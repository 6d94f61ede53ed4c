using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Hyperparameters.Interop;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Reads a hyperparameter set from our YAML, a kohya_ss GUI JSON file, an sd-scripts TOML configuration, or
/// sd-scripts command-line arguments, and validates it. Keys of a foreign format that set nothing are
/// listed as warnings (or, when they are off or only affect speed, as verbose messages).
/// </summary>
[Cmdlet(VerbsData.Import, "KohyaHyperparameterSet", DefaultParameterSetName = PathSet)]
[OutputType(typeof(KohyaHyperparameterSet))]
public sealed class ImportKohyaHyperparameterSetCommand : KohyaCmdlet
{
    private const string PathSet = "Path";
    private const string ArgumentsSet = "Arguments";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [Alias("PSPath", "LiteralPath")]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Yaml, KohyaSSJson or SdScriptsToml; Auto (the default) goes by the extension.</summary>
    [Parameter(ParameterSetName = PathSet)]
    [ValidateSet("Auto", "Yaml", "KohyaSSJson", "SdScriptsToml", IgnoreCase = true)]
    public string Format { get; set; } = "Auto";

    /// <summary>sd-scripts command-line arguments (--key value …), as separate strings or one command line.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ArgumentsSet)]
    public string[] ArgumentList { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ArgumentsSet)
        {
            Emit(() => FromArguments(ArgumentList), "arguments");
            return;
        }
        foreach (var path in Path)
        {
            string resolved = ResolveFileSystemPath(path);
            Emit(() => FromFile(resolved, FormatOf(resolved)), resolved);
        }
    }

    private string FormatOf(string path)
    {
        if (!Format.Equals("Auto", StringComparison.OrdinalIgnoreCase))
            return Format;
        return System.IO.Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".json" => "KohyaSSJson",
            ".toml" => "SdScriptsToml",
            _ => "Yaml",
        };
    }

    private void Emit(Func<(KohyaHyperparameterSet Set, List<string> Warnings, List<string> Verbose)> read, object target)
    {
        try
        {
            var (set, warnings, verbose) = read();
            foreach (var line in verbose) WriteVerbose(line);
            foreach (var line in warnings) WriteWarning(line);
            WriteObject(set);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, target);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (KohyaHyperparameterSet, List<string>, List<string>) FromFile(string path, string format)
    {
        switch (format.ToLowerInvariant())
        {
            case "kohyassjson":
                return Report(KohyaConfigImporter.ImportKohyaSsJson(path), path);
            case "sdscriptstoml":
                return Report(KohyaConfigImporter.ImportSdScriptsToml(path), path);
            default:
                var set = HyperparameterYaml.Load(path);
                HyperparameterValidator.Validate(set);
                return (set, new List<string>(), new List<string>());
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (KohyaHyperparameterSet, List<string>, List<string>) FromArguments(string[] arguments) =>
        Report(KohyaConfigImporter.ImportSdScriptsArguments(arguments), "arguments");

    private static (KohyaHyperparameterSet, List<string>, List<string>) Report(HyperparameterImport import, string source)
    {
        var verbose = import.Applied.Select(a => $"{source}: {a.Key} = {a.Value} -> {a.Options}").ToList();
        verbose.AddRange(import.NotApplied.Where(n => !n.Active).Select(n => $"{source}: not applied, {n}"));
        var warnings = import.NotApplied.Where(n => n.Active).Select(n => $"{source}: not applied, {n}").ToList();
        return (import.Set, warnings, verbose);
    }
}
