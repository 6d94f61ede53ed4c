using System.Text.Json;
using System.Text.Json.Serialization;
using KohyaPS.Engine.Monitoring.Guards;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>
/// <c>state.json</c>: where the run stands and where it came from. Everything here plus the two
/// safetensors files is what exact resume restores.
/// </summary>
public sealed class CheckpointState
{
    public const string FormatName = "kohyaps-checkpoint";
    public const int CurrentFormatVersion = 3;

    public string Format { get; set; } = FormatName;
    public int FormatVersion { get; set; } = CurrentFormatVersion;
    public string RunName { get; set; } = "";
    public string RunId { get; set; } = "";
    public string CheckpointId { get; set; } = "";
    public string? ParentCheckpointId { get; set; }
    public DateTime CreatedUtc { get; set; }

    /// <summary>Optimizer steps done, cumulative across resumes.</summary>
    public long GlobalStep { get; set; }
    public int Epoch { get; set; }
    public int BatchInEpoch { get; set; }
    public long MicroBatches { get; set; }
    public long SamplesSeen { get; set; }

    /// <summary>The seed all data order, augmentation and per-step noise derive from.</summary>
    public long Seed { get; set; }

    /// <summary>How random draws derive from (seed, step): no generator state needs restoring.</summary>
    public string RngScheme { get; set; } = "splitmix64(seed, step) per optimizer step; augmentation from (seed, epoch, batch, position)";

    public string LrSchedule { get; set; } = "";
    public double LastLearningRate { get; set; }
    public double? SmoothedLoss { get; set; }

    /// <summary>The validation loss at this step, when validation ran at it (format 2).</summary>
    public double? ValidationLoss { get; set; }

    /// <summary>The loss guards' and validation's memory (format 2; absent in format 1, which means fresh).</summary>
    public MonitorState? Monitors { get; set; }

    public int Threads { get; set; }
    public string Device { get; set; } = "cpu";
    public string Dtype { get; set; } = "float32";

    /// <summary>The float16 loss scaler (scale, good steps); null for float32 and bfloat16 runs.</summary>
    public Precision.LossScalerState? LossScaler { get; set; }

    public TokenizerState Tokenizer { get; set; } = new();

    /// <summary>Why this save happened: Interval, Epoch, Final, Stop.</summary>
    public string Reason { get; set; } = "";

    public List<SegmentRecord> Segments { get; set; } = new();

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Parses and checks the schema; any problem is a <c>CheckpointStateInvalid</c> error.</summary>
    public static CheckpointState Parse(string json, string source)
    {
        CheckpointState? state;
        try
        {
            state = JsonSerializer.Deserialize<CheckpointState>(json, Options);
        }
        catch (JsonException ex)
        {
            throw Invalid(source, ex.Message, ex);
        }
        if (state is null)
            throw Invalid(source, "it is empty");
        if (state.Format != FormatName)
            throw Invalid(source, $"format is '{state.Format}', expected '{FormatName}'");
        if (state.FormatVersion < 1 || state.FormatVersion > CurrentFormatVersion)
            throw new KohyaException("CheckpointFormatUnsupported", KohyaErrorKind.InvalidData,
                $"'{source}' has format version {state.FormatVersion}; this KohyaPS reads versions 1 to {CurrentFormatVersion}.", target: source);
        if (state.GlobalStep < 0 || state.Epoch < 0 || state.BatchInEpoch < 0 || state.MicroBatches < 0 || state.SamplesSeen < 0)
            throw Invalid(source, "a step, epoch or position is negative");
        if (state.Threads < 0 || state.Tokenizer.MaxLength < 0)
            throw Invalid(source, "threads or tokenizer length is negative");
        if (state.Tokenizer.Kind is { } kind && kind != TokenizerState.WordKind && kind != TokenizerState.ClipKind)
            throw Invalid(source, $"tokenizer kind '{kind}' is neither '{TokenizerState.WordKind}' nor '{TokenizerState.ClipKind}'");
        if (state.Tokenizer.IsClip && (state.Tokenizer.VocabularySize is not > 0 || state.Tokenizer.Sha256 is not { Length: 64 }))
            throw Invalid(source, "a clip tokenizer needs a positive vocabularySize and a 64-digit sha256");
        if (string.IsNullOrEmpty(state.RunId) || string.IsNullOrEmpty(state.CheckpointId))
            throw Invalid(source, "runId or checkpointId is missing");
        return state;
    }

    private static KohyaException Invalid(string source, string detail, Exception? inner = null) =>
        new("CheckpointStateInvalid", KohyaErrorKind.InvalidData, $"'{source}' is not a valid checkpoint state: {detail}.", inner, source);
}

/// <summary>
/// The tokenizer: the demo's word tokenizer is restored exactly from <see cref="Vocabulary"/> so token ids keep their
/// meaning; a CLIP tokenizer (<see cref="Kind"/> clip, format 3) is rebuilt from its files or the byte-level alphabet and
/// checked against <see cref="Sha256"/>.
/// </summary>
public sealed class TokenizerState
{
    public const string WordKind = "word";
    public const string ClipKind = "clip";

    /// <summary>word (absent before format 3) or clip.</summary>
    public string? Kind { get; set; }

    public List<string> Vocabulary { get; set; } = new();
    public int MaxLength { get; set; }

    /// <summary>Largest id + 1 of a CLIP tokenizer (the text encoder's vocabulary); null for the word tokenizer.</summary>
    public int? VocabularySize { get; set; }

    /// <summary>A CLIP tokenizer's identity (<see cref="Models.Clip.ClipTokenizer.Identity"/>); null for the word tokenizer.</summary>
    public string? Sha256 { get; set; }

    public bool IsClip => string.Equals(Kind, ClipKind, StringComparison.Ordinal);
}

/// <summary>One segment of a run's history (fresh start or resume).</summary>
public sealed class SegmentRecord
{
    public string SegmentId { get; set; } = "";
    public DateTime StartedUtc { get; set; }
    public long StartStep { get; set; }
    public string? ResumedFrom { get; set; }
    public List<string> Overrides { get; set; } = new();
    public List<string> Warnings { get; set; } = new();
}
