using System.Text;
using System.Text.Json;

namespace KohyaPS.Engine.Interop;

/// <summary>
/// sd-scripts' <c>train_state.json</c> in a <c>--save_state</c> folder: <c>{"current_epoch": E, "current_step": S}</c>,
/// written by train_network.py's save hook (S is the run's own step count, which restarts on resume there).
/// Parsed strictly: both fields must be JSON integers ≥ 0, keys must be unique, nothing may follow the object.
/// Other keys are kept in <see cref="OtherKeys"/>.
/// </summary>
public sealed record SdScriptsTrainState(long CurrentEpoch, long CurrentStep, IReadOnlyList<string> OtherKeys)
{
    public const string FileName = "train_state.json";

    /// <summary>Larger files are refused unread: the real one is about 40 bytes.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>Reads and parses the file; <see cref="KohyaException"/> with an <c>SdScriptsTrainState…</c> id when it is wrong.</summary>
    public static SdScriptsTrainState Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new KohyaException(InteropErrorIds.PathNotFound, KohyaErrorKind.ObjectNotFound, $"'{path}' does not exist.", target: path);
        long length = new FileInfo(path).Length;
        if (length > MaxBytes)
            throw Error(InteropErrorIds.TrainStateInvalidJson, path, $"it is {length:N0} bytes; a train state is a few dozen.");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses UTF-8 JSON text (a leading byte-order mark is allowed).</summary>
    public static SdScriptsTrainState Parse(ReadOnlySpan<byte> utf8, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (utf8.Length > MaxBytes)
            throw Error(InteropErrorIds.TrainStateInvalidJson, source, $"it is {utf8.Length:N0} bytes; a train state is a few dozen.");
        if (utf8.StartsWith(Encoding.UTF8.Preamble))
            utf8 = utf8[3..];

        long? epoch = null, step = null;
        var names = new HashSet<string>(StringComparer.Ordinal);
        var others = new List<string>();
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw Error(InteropErrorIds.TrainStateInvalidJson, source, "it is not a JSON object.");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                string name = reader.GetString()!;
                if (!names.Add(name))
                    throw Error(InteropErrorIds.TrainStateInvalidJson, source, $"key '{name}' appears twice.");
                reader.Read();
                switch (name)
                {
                    case "current_epoch": epoch = Integer(ref reader, name, source); break;
                    case "current_step": step = Integer(ref reader, name, source); break;
                    default:
                        others.Add(name);
                        reader.Skip();
                        break;
                }
            }
            if (reader.Read())
                throw Error(InteropErrorIds.TrainStateInvalidJson, source, "something follows the JSON object.");
        }
        catch (JsonException ex)
        {
            throw Error(InteropErrorIds.TrainStateInvalidJson, source, $"it is not valid JSON ({ex.Message})", ex);
        }
        catch (InvalidOperationException ex) // invalid UTF-8 inside a string
        {
            throw Error(InteropErrorIds.TrainStateInvalidJson, source, $"it is not valid JSON ({ex.Message})", ex);
        }

        if (epoch is null || step is null)
            throw Error(InteropErrorIds.TrainStateMissingField, source, $"it has no '{(epoch is null ? "current_epoch" : "current_step")}'.");
        return new SdScriptsTrainState(epoch.Value, step.Value, others);
    }

    private static long Integer(ref Utf8JsonReader reader, string name, string source)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            string kind = reader.TokenType switch
            {
                JsonTokenType.String => "a string",
                JsonTokenType.True or JsonTokenType.False => "a boolean",
                JsonTokenType.Null => "null",
                JsonTokenType.StartArray => "an array",
                JsonTokenType.StartObject => "an object",
                _ => reader.TokenType.ToString(),
            };
            throw Error(InteropErrorIds.TrainStateWrongType, source, $"'{name}' is {kind}, not an integer.");
        }
        ReadOnlySpan<byte> raw = reader.ValueSpan; // parsed from one span: never a sequence
        if (raw.IndexOfAny("."u8) >= 0 || raw.IndexOfAny("eE"u8) >= 0)
            throw Error(InteropErrorIds.TrainStateWrongType, source, $"'{name}' is {Encoding.UTF8.GetString(raw)}, not an integer.");
        if (!reader.TryGetInt64(out long value))
            throw Error(InteropErrorIds.TrainStateWrongType, source, $"'{name}' is {Encoding.UTF8.GetString(raw)}, too large for a step count.");
        if (value < 0)
            throw Error(InteropErrorIds.TrainStateNegative, source, $"'{name}' is {value}; it cannot be negative.");
        return value;
    }

    private static KohyaException Error(string id, string source, string problem, Exception? inner = null) =>
        new(id, KohyaErrorKind.InvalidData, $"sd-scripts train state '{source}' is invalid: {problem}", inner, source)
        {
            RecommendedAction = "The folder's train_state.json is damaged or was edited; resume from another state folder or fix the file to {\"current_epoch\": N, \"current_step\": N}.",
        };
}
