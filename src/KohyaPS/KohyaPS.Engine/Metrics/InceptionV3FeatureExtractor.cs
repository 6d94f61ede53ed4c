using KohyaPS.Engine.Metrics.Networks;
using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>
/// FID features from InceptionV3's pool3 layer (2048-d) with weights the user supplies as safetensors, keyed as
/// pytorch-fid's FID Inception (or torchvision's <c>inception_v3</c>) state dict. Images are resized (cover, centre
/// crop, KohyaPS's resampler) to 299×299 — not pytorch's bilinear, so figures are close to but not bit-identical
/// with pytorch-fid's.
/// </summary>
public sealed class InceptionV3FeatureExtractor : IFeatureExtractor
{
    private readonly InceptionV3 _net;

    private InceptionV3FeatureExtractor(InceptionV3 net)
    {
        _net = net;
        _net.eval();
    }

    public string Name => "InceptionV3";

    public int Dimension => InceptionV3.FeatureDimension;

    public int InputSize => InceptionV3.InputSize;

    /// <summary>
    /// Loads the weights. Raises <see cref="MetricsErrors.WeightsNotFound"/> for a missing file and
    /// <see cref="MetricsErrors.WeightsMismatch"/> listing the missing, unexpected and misshapen keys.
    /// </summary>
    public static InceptionV3FeatureExtractor Load(string weightsPath)
    {
        var tensors = StateDictLoader.ReadFile(weightsPath);
        try
        {
            TorchRuntime.EnsureLoaded();
            var net = new InceptionV3();
            try
            {
                StateDictLoader.Load(net, tensors, weightsPath, InceptionV3.IsIgnoredKey);
            }
            catch
            {
                net.Dispose();
                throw;
            }
            return new InceptionV3FeatureExtractor(net);
        }
        finally
        {
            foreach (var t in tensors.Values)
                t.Dispose();
        }
    }

    public Tensor Extract(Tensor images)
    {
        using var noGrad = torch.no_grad();
        return _net.forward(images);
    }

    public void Dispose() => _net.Dispose();
}
