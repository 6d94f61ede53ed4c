using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>
/// Turns images into feature vectors for FID and diversity. Implementations: <see cref="DemoAttributeClassifier"/>
/// (the embedded classifier's penultimate layer) and <see cref="InceptionV3FeatureExtractor"/> (pool3, 2048-d,
/// weights supplied by the user).
/// </summary>
public interface IFeatureExtractor : IDisposable
{
    /// <summary>The name reported in results (Demo, InceptionV3).</summary>
    string Name { get; }

    /// <summary>Length of one feature vector.</summary>
    int Dimension { get; }

    /// <summary>The square side images are resized (cover, centre crop) to before <see cref="Extract"/>.</summary>
    int InputSize { get; }

    /// <summary>Features [N, <see cref="Dimension"/>] (float32, CPU) of images [N, 3, InputSize, InputSize], RGB in [−1, 1]. The caller owns the result.</summary>
    Tensor Extract(Tensor images);
}
