namespace KohyaPS.Engine.Checkpoints.Safetensors;

/// <summary>The stable error identifiers of <see cref="SafetensorsFormatException"/>, one per validation rule.</summary>
public static class SafetensorsErrorIds
{
    /// <summary>The file ends before the data it declares: inside the 8-byte length prefix, or inside the tensor data.</summary>
    public const string Truncated = "SafetensorsTruncated";

    /// <summary>The declared header length is above the reference implementation's cap of 100,000,000 bytes.</summary>
    public const string HeaderTooLarge = "SafetensorsHeaderTooLarge";

    /// <summary>8 + the declared header length is past the end of the file.</summary>
    public const string HeaderLengthExceedsFile = "SafetensorsHeaderLengthExceedsFile";

    /// <summary>The header bytes are not valid UTF-8.</summary>
    public const string HeaderNotUtf8 = "SafetensorsHeaderNotUtf8";

    /// <summary>The header is valid JSON but its root is not an object.</summary>
    public const string HeaderNotObject = "SafetensorsHeaderNotObject";

    /// <summary>The header is not valid JSON (syntax, trailing garbage, invalid escapes, nesting too deep).</summary>
    public const string InvalidJson = "SafetensorsInvalidJson";

    /// <summary>A key appears twice in the same JSON object (tensor names, entry fields or metadata keys).</summary>
    public const string DuplicateKey = "SafetensorsDuplicateKey";

    /// <summary>A tensor's dtype is not one the safetensors specification names.</summary>
    public const string UnknownDtype = "SafetensorsUnknownDtype";

    /// <summary>The element count × dtype size of a tensor is not the length of its data span (or overflows).</summary>
    public const string ShapeMismatch = "SafetensorsShapeMismatch";

    /// <summary>A tensor's span reaches past the end of the file and the spans do not form a consistent layout.</summary>
    public const string OffsetsOutOfBounds = "SafetensorsOffsetsOutOfBounds";

    /// <summary>Sorted by begin offset, the spans do not tile the data region exactly (gap, overlap, or unclaimed trailing bytes).</summary>
    public const string OffsetsNotContiguous = "SafetensorsOffsetsNotContiguous";

    /// <summary><c>__metadata__</c> is not an object whose values are all strings.</summary>
    public const string InvalidMetadata = "SafetensorsInvalidMetadata";

    /// <summary>A tensor entry has missing or extra fields, wrong JSON types, negative or non-integer numbers, or begin &gt; end.</summary>
    public const string InvalidEntry = "SafetensorsInvalidEntry";

    /// <summary>The requested tensor name is not in the file.</summary>
    public const string TensorNotFound = "SafetensorsTensorNotFound";

    /// <summary>A BOOL tensor holds a byte other than 0 or 1.</summary>
    public const string InvalidBoolValue = "SafetensorsInvalidBoolValue";
}

/// <summary>
/// A safetensors file breaks a rule of the format. <see cref="KohyaException.ErrorId"/> says which rule
/// (see <see cref="SafetensorsErrorIds"/>); the message names the file and, where there is one, the tensor.
/// </summary>
public sealed class SafetensorsFormatException : KohyaException
{
    public SafetensorsFormatException(string errorId, string fileName, string message, string? tensorName = null, Exception? inner = null)
        : base(errorId, KohyaErrorKind.InvalidData, $"'{fileName}': {message}", inner, fileName)
    {
        FileName = fileName;
        TensorName = tensorName;
        RecommendedAction = errorId == SafetensorsErrorIds.TensorNotFound
            ? "Check the tensor name against the file's entries; the file may come from a different model or network type."
            : "The file is damaged or was not written as safetensors. Restore it from a good copy or save it again.";
    }

    /// <summary>The file (or stream description) the error is about.</summary>
    public string FileName { get; }

    /// <summary>The tensor the error is about, when there is one.</summary>
    public string? TensorName { get; }
}
