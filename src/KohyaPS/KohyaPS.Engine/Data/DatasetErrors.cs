namespace KohyaPS.Engine.Data;

/// <summary>The data pipeline's error ids and the exceptions that carry them, in one place.</summary>
public static class DatasetErrors
{
    public const string DatasetNotFound = "DatasetNotFound";
    public const string DatasetEmpty = "DatasetEmpty";
    public const string CaptionMissing = "CaptionMissing";
    public const string ImageUndecodable = "ImageUndecodable";
    public const string UnknownDatasetKey = "UnknownDatasetKey";
    public const string InvalidDatasetValue = "InvalidDatasetValue";
    public const string UnsupportedDatasetOption = "UnsupportedDatasetOption";
    public const string DatasetConfigSyntax = "DatasetConfigSyntax";

    internal static KohyaException NotFound(string path, string what) =>
        new(DatasetNotFound, KohyaErrorKind.ObjectNotFound, $"The {what} '{path}' does not exist.", target: path)
        {
            RecommendedAction = "Check the path; dataset folders hold '<repeats>_<class tokens>' subfolders such as '10_sks cat'.",
        };

    internal static KohyaException Empty(string path, string detail) =>
        new(DatasetEmpty, KohyaErrorKind.InvalidData, $"The dataset '{path}' contains no images. {detail}".TrimEnd(), target: path)
        {
            RecommendedAction = "Put .png, .jpg, .jpeg, .webp or .bmp images in '<repeats>_<class tokens>' subfolders, e.g. '10_sks cat'.",
        };

    internal static KohyaException NoCaption(string imagePath, string expectedCaption) =>
        new(CaptionMissing, KohyaErrorKind.InvalidData,
            $"The image '{imagePath}' has no caption file '{expectedCaption}' and its subset has no class tokens.", target: imagePath)
        {
            RecommendedAction = "Write the caption file, set caption_extension to the extension your captions use, or give the subset class_tokens.",
        };

    internal static KohyaException Undecodable(string imagePath, string detail, Exception? inner = null) =>
        new(ImageUndecodable, KohyaErrorKind.InvalidData, $"The image '{imagePath}' cannot be decoded: {detail}", inner, imagePath)
        {
            RecommendedAction = "Re-export the image as PNG or JPEG, or remove it from the dataset.",
        };

    internal static KohyaException UnknownKey(string key, string section, string source) =>
        new(UnknownDatasetKey, KohyaErrorKind.InvalidArgument,
            $"Unknown key '{key}' in [{section}] of '{source}'.", target: key)
        {
            RecommendedAction = "Check the spelling; [general] and [[datasets]] take dataset and subset keys, [[datasets.subsets]] takes subset keys.",
        };

    internal static KohyaException InvalidValue(string key, string section, string source, string expected, object? actual) =>
        new(InvalidDatasetValue, KohyaErrorKind.InvalidArgument,
            $"'{key}' in [{section}] of '{source}' must be {expected}; it is {Describe(actual)}.", target: key);

    internal static KohyaException Unsupported(string key, string section, string source, string detail) =>
        new(UnsupportedDatasetOption, KohyaErrorKind.NotImplemented,
            $"'{key}' in [{section}] of '{source}' is not supported by KohyaPS: {detail}", target: key)
        {
            RecommendedAction = "Remove the option or set it to its default.",
        };

    internal static KohyaException Syntax(string source, string detail, Exception inner) =>
        new(DatasetConfigSyntax, KohyaErrorKind.InvalidData, $"'{source}' is not valid TOML: {detail}", inner, source);

    internal static string Describe(object? value) => value switch
    {
        null => "missing",
        string s => $"the string \"{s}\"",
        bool b => b ? "true" : "false",
        long or int or double => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!,
        Tomlyn.Model.TomlTableArray => "an array of tables",
        Tomlyn.Model.TomlArray => "an array",
        Tomlyn.Model.TomlTable => "a table",
        _ => $"a value of type {value.GetType().Name}",
    };
}
