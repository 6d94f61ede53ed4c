namespace KohyaPS.Engine.Datasets;

/// <summary>The error ids of dataset manifests and dataset continuity, and the exceptions that carry them.</summary>
public static class DatasetManifestErrors
{
    public const string ManifestNotFound = "DatasetManifestNotFound";
    public const string ManifestSyntax = "DatasetManifestSyntax";
    public const string ManifestFormatUnknown = "DatasetManifestFormatUnknown";
    public const string ManifestVersionUnsupported = "DatasetManifestVersionUnsupported";
    public const string ManifestInvalid = "DatasetManifestInvalid";
    public const string ManifestHashMismatch = "DatasetManifestHashMismatch";
    public const string FileUnreadable = "DatasetFileUnreadable";
    public const string DatasetChanged = "DatasetChanged";

    internal static KohyaException NotFound(string path) =>
        new(ManifestNotFound, KohyaErrorKind.ObjectNotFound, $"No dataset manifest at '{path}'.", target: path)
        {
            RecommendedAction = "Give a manifest JSON written by Export-KohyaDatasetManifest, or a checkpoint folder (its dataset.json).",
        };

    internal static KohyaException Syntax(string source, string detail, Exception inner) =>
        new(ManifestSyntax, KohyaErrorKind.InvalidData, $"'{source}' is not valid JSON: {detail}", inner, source);

    internal static KohyaException FormatUnknown(string source, string? format) =>
        new(ManifestFormatUnknown, KohyaErrorKind.InvalidData,
            format is null
                ? $"'{source}' is not a KohyaPS dataset manifest: it has no \"format\": \"{Contracts.KohyaDatasetManifest.FormatName}\"."
                : $"'{source}' is not a KohyaPS dataset manifest: its format is '{format}', expected '{Contracts.KohyaDatasetManifest.FormatName}'.",
            target: source)
        {
            RecommendedAction = "Checkpoints written before KohyaPS recorded manifests hold a plain file list; make a manifest with New-KohyaDatasetManifest.",
        };

    internal static KohyaException VersionUnsupported(string source, int version) =>
        new(ManifestVersionUnsupported, KohyaErrorKind.InvalidData,
            $"'{source}' has manifest format version {version}; this KohyaPS reads versions 1 to {Contracts.KohyaDatasetManifest.CurrentFormatVersion}.",
            target: source)
        {
            RecommendedAction = "Use the KohyaPS version that wrote it, or make a new manifest with New-KohyaDatasetManifest.",
        };

    internal static KohyaException Invalid(string source, string detail, Exception? inner = null) =>
        new(ManifestInvalid, KohyaErrorKind.InvalidData, $"'{source}' is not a valid dataset manifest: {detail}", inner, source);

    internal static KohyaException HashMismatch(string source, string which, string recorded, string actual) =>
        new(ManifestHashMismatch, KohyaErrorKind.InvalidData,
            $"'{source}': the recorded {which} {recorded} does not match its contents ({actual}); the file was edited or damaged.", target: source)
        {
            RecommendedAction = "Make the manifest again with New-KohyaDatasetManifest instead of editing it.",
        };

    internal static KohyaException Unreadable(string path, Exception inner) =>
        new(FileUnreadable, KohyaErrorKind.InvalidData, $"'{path}' cannot be read: {inner.Message}", inner, path);
}
