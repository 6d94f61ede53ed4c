using KohyaPS.Contracts;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>
/// Reads and writes <see cref="KohyaHyperparameterSet"/> as YAML with the same names users see in
/// PowerShell (<c>Optimizer: { LearningRate: 0.001 }</c>). Unknown keys and wrong types are errors that
/// name the key and the line; nothing is silently dropped.
/// </summary>
public static class HyperparameterYaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(NullNamingConvention.Instance)
        .Build();

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(NullNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.Preserve)
        .Build();

    public static KohyaHyperparameterSet Parse(string yaml, string source = "<text>")
    {
        try
        {
            return Deserializer.Deserialize<KohyaHyperparameterSet?>(yaml) ?? new KohyaHyperparameterSet();
        }
        catch (YamlException ex)
        {
            string line = ex.Start.Line > 0 ? $" (line {ex.Start.Line}, column {ex.Start.Column})" : "";
            string detail = ex.InnerException?.Message ?? ex.Message;
            bool unknown = ex.Message.Contains("not found on type", StringComparison.Ordinal);
            string message = unknown
                ? $"{source}{line}: unknown hyperparameter key. {ex.Message}"
                : $"{source}{line}: invalid hyperparameter value. {detail}";
            throw new KohyaException(unknown ? "HyperparameterUnknownKey" : "HyperparameterInvalidValue",
                KohyaErrorKind.InvalidData, message, ex, source);
        }
    }

    public static KohyaHyperparameterSet Load(string path)
    {
        if (!File.Exists(path))
            throw new KohyaException("HyperparameterFileNotFound", KohyaErrorKind.ObjectNotFound, $"Hyperparameter file '{path}' does not exist.", target: path);
        return Parse(File.ReadAllText(path), path);
    }

    public static string Serialize(KohyaHyperparameterSet set) => Serializer.Serialize(set);
}
