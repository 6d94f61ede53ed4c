using System.Collections;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Contracts;
using KohyaPS.Engine.Hyperparameters;

namespace KohyaPS.Commands.Common;

/// <summary>
/// Turns what users pass for hyperparameters into what the engine takes: hashtables with every PSObject
/// unwrapped (the engine never sees PowerShell types), and "a set" given as a set, a hashtable, a checkpoint
/// from Get-KohyaCheckpoint or a YAML file.
/// </summary>
internal static class HyperparameterArguments
{
    /// <summary>A copy of <paramref name="table"/> with PSObjects unwrapped, nested tables and arrays included.</summary>
    public static Hashtable? Unwrap(IDictionary? table)
    {
        if (table is null)
            return null;
        // Ordinal keys: two spellings of one option must both reach the engine, which reports them (given twice).
        var copy = new Hashtable();
        foreach (DictionaryEntry entry in table)
            copy[Unwrap(entry.Key) ?? ""] = Unwrap(entry.Value);
        return copy;
    }

    public static object? Unwrap(object? value) => value switch
    {
        PSObject ps => Unwrap(ps.BaseObject),
        IDictionary d => Unwrap(d),
        string s => s,
        IList list => list.Cast<object?>().Select(Unwrap).ToArray(),
        _ => value,
    };

    /// <summary>
    /// A hyperparameter set from a KohyaHyperparameterSet, a hashtable (converted as [KohyaHyperparameterSet]@{…}
    /// converts it), a checkpoint (its HyperparameterSet) or a path to a YAML file.
    /// </summary>
    public static KohyaHyperparameterSet ToSet(object? input, string parameter, Func<string, string> resolvePath)
    {
        object? value = input is PSObject ps ? ps.BaseObject : input;
        switch (value)
        {
            case KohyaHyperparameterSet set:
                return set;
            case KohyaCheckpointInfo checkpoint:
                return checkpoint.HyperparameterSet ?? throw new KohyaPS.Engine.KohyaException("HyperparameterSetMissing", KohyaPS.Engine.KohyaErrorKind.ObjectNotFound,
                    $"-{parameter}: checkpoint '{checkpoint.Path}' has no readable hyperparameters.yaml.", target: checkpoint.Path);
            case string path:
                return LoadYaml(resolvePath(path));
            case FileInfo file:
                return LoadYaml(file.FullName);
            case IDictionary:
                try
                {
                    return LanguagePrimitives.ConvertTo<KohyaHyperparameterSet>(input);
                }
                catch (PSInvalidCastException ex)
                {
                    throw new KohyaPS.Engine.KohyaException("InvalidHyperparameterTable", KohyaPS.Engine.KohyaErrorKind.InvalidArgument,
                        $"-{parameter}: the hashtable is not a hyperparameter set: {ex.Message}", ex, input);
                }
            default:
                throw new KohyaPS.Engine.KohyaException("UnsupportedInput", KohyaPS.Engine.KohyaErrorKind.InvalidArgument,
                    $"-{parameter}: a {value?.GetType().Name ?? "null"} is not a hyperparameter set; give a KohyaHyperparameterSet, a hashtable, a checkpoint from Get-KohyaCheckpoint or a YAML path.",
                    target: input);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaHyperparameterSet LoadYaml(string path) => HyperparameterYaml.Load(path);
}
