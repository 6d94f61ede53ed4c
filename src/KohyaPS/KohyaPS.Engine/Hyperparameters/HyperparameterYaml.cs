using System.Globalization;
using System.Text.RegularExpressions;
using KohyaPS.Contracts;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>
/// Reads and writes <see cref="KohyaHyperparameterSet"/> as YAML with the same names users see in PowerShell
/// (<c>Optimizer: { LearningRate: 0.001 }</c>). Reading walks the document against the schema: an unknown
/// section or option, a value of the wrong type, a duplicate key or a YAML syntax error is an error naming the
/// key, the file, the line and the column; nothing is silently dropped. Options left out keep their defaults,
/// so files written before a section existed read unchanged. Keys match case-insensitively, as in PowerShell.
/// Writing puts each option's description above it as a comment and writes numbers so they read back exactly.
/// </summary>
public static class HyperparameterYaml
{
    public static KohyaHyperparameterSet Parse(string yaml, string source = "<text>")
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new KohyaException("HyperparameterYamlInvalid", KohyaErrorKind.InvalidData,
                $"{At(source, ex.Start)}: not valid YAML: {ex.Message}", ex, source);
        }
        var set = new KohyaHyperparameterSet();
        if (stream.Documents.Count == 0)
            return set;
        if (stream.Documents.Count > 1)
            throw new KohyaException("HyperparameterYamlInvalid", KohyaErrorKind.InvalidData,
                $"{At(source, stream.Documents[1].RootNode.Start)}: a hyperparameter file holds one document; found {stream.Documents.Count}.", target: source);
        var root = stream.Documents[0].RootNode;
        if (IsNull(root))
            return set;
        if (root is not YamlMappingNode sections)
            throw Invalid(source, root, "the file must be a mapping of sections (Model:, Optimizer:, …)");

        foreach (var (keyNode, valueNode) in sections.Children)
        {
            string key = KeyText(keyNode, source);
            var section = HyperparameterSchema.FindSection(key)
                ?? throw Unknown(source, keyNode, $"'{key}' is not a hyperparameter section; the sections are: {string.Join(", ", HyperparameterSchema.Sections.Select(s => s.Name))}");
            if (IsNull(valueNode))
                continue;
            if (valueNode is not YamlMappingNode options)
                throw Invalid(source, valueNode, $"{section.Name} must be a mapping of options");
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (optionKey, optionValue) in options.Children)
            {
                string name = KeyText(optionKey, source);
                var option = HyperparameterSchema.Find(section.Name + "." + name)
                    ?? throw Unknown(source, optionKey, $"'{name}' is not an option of {section.Name}; it has: {string.Join(", ", HyperparameterSchema.OptionsOf(section).Select(o => o.Name))}");
                if (!seen.Add(option.Name))
                    throw new KohyaException("HyperparameterYamlInvalid", KohyaErrorKind.InvalidData,
                        $"{At(source, optionKey.Start)}: {option.Path} is given twice.", target: option.Path);
                option.Set(set, ReadValue(option, optionValue, source));
            }
        }
        return set;
    }

    public static KohyaHyperparameterSet Load(string path)
    {
        if (!File.Exists(path))
            throw new KohyaException("HyperparameterFileNotFound", KohyaErrorKind.ObjectNotFound, $"Hyperparameter file '{path}' does not exist.", target: path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>The whole set, every option, each under its description; reads back to an equal set.</summary>
    public static string Serialize(KohyaHyperparameterSet set)
    {
        var writer = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(writer);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        emitter.Emit(new MappingStart(null, null, isImplicit: true, MappingStyle.Block));
        foreach (var section in HyperparameterSchema.Sections)
        {
            emitter.Emit(new Scalar(section.Name));
            emitter.Emit(new MappingStart(null, null, isImplicit: true, MappingStyle.Block));
            foreach (var option in HyperparameterSchema.OptionsOf(section))
            {
                if (option.Description.Length > 0)
                    emitter.Emit(new Comment(option.Description, isInline: false));
                emitter.Emit(new Scalar(option.Name));
                WriteValue(emitter, option.Get(set));
            }
            emitter.Emit(new MappingEnd());
        }
        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    private static object? ReadValue(HyperparameterOption option, YamlNode node, string source)
    {
        if (option.ValueType == typeof(string[]))
        {
            if (IsNull(node))
                return Array.Empty<string>();
            if (node is not YamlSequenceNode sequence)
                throw WrongType(source, node, option, Describe(node));
            return sequence.Children.Select(item => item is YamlScalarNode s && !(s.Style == ScalarStyle.Plain && HyperparameterValues.IsNullToken(s.Value))
                ? s.Value ?? ""
                : throw WrongType(source, item, option, Describe(item))).ToArray();
        }
        if (node is not YamlScalarNode scalar)
            throw WrongType(source, node, option, Describe(node));
        bool plainNull = scalar.Style == ScalarStyle.Plain && HyperparameterValues.IsNullToken(scalar.Value);
        if (option.ValueType == typeof(string))
            return plainNull ? "" : scalar.Value ?? "";
        if (plainNull && Nullable.GetUnderlyingType(option.ValueType) is null)
            throw WrongType(source, node, option, "nothing");
        if (!HyperparameterValues.TryParse(plainNull ? null : scalar.Value, option.ValueType, out var value))
            throw WrongType(source, node, option, $"'{scalar.Value}'");
        return value;
    }

    private static readonly Regex PlainSafe = new(@"^[A-Za-z0-9_.][A-Za-z0-9_.+/\-]*$", RegexOptions.CultureInvariant);

    private static void WriteValue(IEmitter emitter, object? value)
    {
        switch (value)
        {
            case null:
                emitter.Emit(new Scalar("null"));
                break;
            case string[] list:
                emitter.Emit(new SequenceStart(null, null, isImplicit: true, SequenceStyle.Flow));
                foreach (var item in list) WriteText(emitter, item ?? "");
                emitter.Emit(new SequenceEnd());
                break;
            case string text:
                WriteText(emitter, text);
                break;
            case bool b:
                emitter.Emit(new Scalar(b ? "true" : "false"));
                break;
            case double d:
                emitter.Emit(new Scalar(double.IsNaN(d) ? ".nan" : double.IsPositiveInfinity(d) ? ".inf" : double.IsNegativeInfinity(d) ? "-.inf"
                    : d.ToString("R", CultureInfo.InvariantCulture)));
                break;
            case IFormattable f:
                emitter.Emit(new Scalar(f.ToString(null, CultureInfo.InvariantCulture)));
                break;
            default:
                throw new InvalidOperationException($"No YAML form for a {value.GetType().Name}.");
        }
    }

    /// <summary>Plain when it cannot be misread, double-quoted (every character escaped as needed) otherwise.</summary>
    private static void WriteText(IEmitter emitter, string text)
    {
        bool plain = PlainSafe.IsMatch(text) && !HyperparameterValues.IsNullToken(text);
        emitter.Emit(new Scalar(null, null, text, plain ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted, true, true));
    }

    private static bool IsNull(YamlNode node) => node is YamlScalarNode { Style: ScalarStyle.Plain } s && HyperparameterValues.IsNullToken(s.Value);

    private static string KeyText(YamlNode key, string source) =>
        key is YamlScalarNode { Value: { } text } ? text : throw Invalid(source, key, "keys must be plain names");

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s when s.Style == ScalarStyle.Plain && HyperparameterValues.IsNullToken(s.Value) => "nothing",
        YamlScalarNode s => $"'{s.Value}'",
        _ => node.NodeType.ToString(),
    };

    private static string At(string source, Mark mark) =>
        mark.Line > 0 ? $"{source} (line {mark.Line}, column {mark.Column})" : source;

    private static KohyaException Unknown(string source, YamlNode node, string detail) =>
        new("HyperparameterUnknownKey", KohyaErrorKind.InvalidData, $"{At(source, node.Start)}: unknown hyperparameter key. {detail}.", target: source);

    private static KohyaException Invalid(string source, YamlNode node, string detail) =>
        new("HyperparameterYamlInvalid", KohyaErrorKind.InvalidData, $"{At(source, node.Start)}: {detail}.", target: source);

    private static KohyaException WrongType(string source, YamlNode node, HyperparameterOption option, string got) =>
        new("HyperparameterInvalidValue", KohyaErrorKind.InvalidData,
            $"{At(source, node.Start)}: invalid hyperparameter value. {option.Path} must be {HyperparameterValues.Describe(option.ValueType)}; got {got}.",
            target: option.Path);
}
