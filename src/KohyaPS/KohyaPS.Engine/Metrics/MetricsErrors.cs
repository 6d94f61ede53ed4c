namespace KohyaPS.Engine.Metrics;

/// <summary>The metrics' error ids and the exceptions that carry them, in one place.</summary>
public static class MetricsErrors
{
    public const string TooFewSamples = "FidTooFewSamples";
    public const string FeatureDimensionMismatch = "FeatureDimensionMismatch";
    public const string NotPositiveSemidefinite = "CovarianceNotPositiveSemidefinite";
    public const string NonFiniteFeatures = "FeaturesNotFinite";
    public const string SampleNotFound = "SampleNotFound";
    public const string ReferenceNotFound = "ReferenceNotFound";
    public const string ReferenceEmpty = "ReferenceEmpty";
    public const string WeightsNotFound = "FeatureWeightsNotFound";
    public const string WeightsMismatch = "FeatureWeightsMismatch";
    public const string WeightsRequired = "FeatureWeightsRequired";
    public const string NoSamples = "NoSamples";

    /// <summary>Minimum images per set: a covariance needs two observations.</summary>
    public const int MinimumSamples = 2;

    internal static KohyaException TooFew(string which, int count, int dimension) =>
        new(TooFewSamples, KohyaErrorKind.InvalidData,
            $"The {which} set has {count} image(s); a Fréchet distance needs at least {MinimumSamples} per set to estimate a covariance, " +
            $"and more than {dimension} (the feature dimension) for a full-rank one.", target: which)
        {
            RecommendedAction = $"Measure at least {MinimumSamples} images per set — for a stable FID, more than {dimension} (e.g. Invoke-KohyaSample -Count).",
        };

    internal static KohyaException DimensionMismatch(int a, int b) =>
        new(FeatureDimensionMismatch, KohyaErrorKind.InvalidArgument,
            $"The two feature sets have different dimensions ({a} and {b}); they must come from the same feature extractor.")
        {
            RecommendedAction = "Extract both sets with the same feature extractor.",
        };

    internal static KohyaException NotPsd(string which, double eigenvalue, double tolerance) =>
        new(NotPositiveSemidefinite, KohyaErrorKind.InvalidData,
            $"The {which} matrix has an eigenvalue of {eigenvalue:G6}, below the round-off tolerance −{tolerance:G3}; it is not a covariance.", target: which)
        {
            RecommendedAction = "Pass covariances computed from features (symmetric positive semidefinite).",
        };

    internal static KohyaException NonFinite(string which) =>
        new(NonFiniteFeatures, KohyaErrorKind.InvalidData, $"The {which} features contain NaN or infinity.", target: which)
        {
            RecommendedAction = "Check the images (a diverged model can produce NaN images) and the feature extractor's weights.",
        };

    internal static KohyaException MissingSample(string path) =>
        new(SampleNotFound, KohyaErrorKind.ObjectNotFound, $"The sample image '{path}' does not exist.", target: path)
        {
            RecommendedAction = "Pass the objects Invoke-KohyaSample wrote (their Path) or existing image files.",
        };

    internal static KohyaException MissingReference(string path) =>
        new(ReferenceNotFound, KohyaErrorKind.ObjectNotFound, $"The reference '{path}' does not exist.", target: path)
        {
            RecommendedAction = "Give a folder of images (searched recursively) or a dataset manifest (.json) written by Export-KohyaDatasetManifest.",
        };

    internal static KohyaException EmptyReference(string path) =>
        new(ReferenceEmpty, KohyaErrorKind.InvalidData, $"The reference '{path}' holds no images.", target: path)
        {
            RecommendedAction = "Give a folder with .png, .jpg, .jpeg, .webp or .bmp images, or a manifest of one.",
        };

    internal static KohyaException WeightsMissing(string path) =>
        new(WeightsNotFound, KohyaErrorKind.ObjectNotFound, $"The feature extractor weights '{path}' do not exist.", target: path)
        {
            RecommendedAction = "Convert pytorch-fid's pt_inception-2015-12-05 weights (or torchvision's inception_v3) to .safetensors and pass that file.",
        };

    internal static KohyaException Mismatch(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> wrongShape) =>
        new(WeightsMismatch, KohyaErrorKind.InvalidData,
            $"'{source}' does not fit the network: missing [{Preview(missing)}], unexpected [{Preview(unexpected)}], wrong shape [{Preview(wrongShape)}].",
            target: source)
        {
            RecommendedAction = "Use a state dict saved with pytorch-fid / torchvision key names (Conv2d_1a_3x3.conv.weight, Mixed_5b.branch1x1.bn.running_mean, …).",
        };

    internal static string Preview(IReadOnlyList<string> keys) =>
        keys.Count <= 6 ? string.Join(", ", keys) : string.Join(", ", keys.Take(6)) + $", … ({keys.Count} in all)";
}
