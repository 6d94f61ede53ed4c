namespace KohyaPS.Engine.Metrics;

/// <summary>The feature extractors Measure-KohyaOutput offers.</summary>
public enum FeatureExtractorKind
{
    /// <summary>The embedded demo attribute classifier (32-d features; also judges prompt alignment).</summary>
    Demo,

    /// <summary>InceptionV3 pool3 (2048-d), the standard FID network, from user-supplied weights.</summary>
    InceptionV3,
}

public static class FeatureExtractors
{
    /// <summary>Creates an extractor; InceptionV3 needs <paramref name="weightsPath"/> (<see cref="MetricsErrors.WeightsRequired"/> otherwise).</summary>
    public static IFeatureExtractor Create(FeatureExtractorKind kind, string? weightsPath) => kind switch
    {
        FeatureExtractorKind.Demo => DemoAttributeClassifier.LoadEmbedded(),
        FeatureExtractorKind.InceptionV3 => InceptionV3FeatureExtractor.Load(weightsPath ?? throw new KohyaException(
            MetricsErrors.WeightsRequired, KohyaErrorKind.InvalidArgument, "The InceptionV3 feature extractor needs its weights as a .safetensors file.")
        {
            RecommendedAction = "Pass -InceptionWeights <file>: pytorch-fid's pt_inception-2015-12-05 weights (or torchvision's inception_v3) converted to safetensors.",
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
