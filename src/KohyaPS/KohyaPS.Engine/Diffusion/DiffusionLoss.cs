using static TorchSharp.torch;

namespace KohyaPS.Engine.Diffusion;

/// <summary>The prediction target of the UNet.</summary>
public enum PredictionType
{
    Epsilon,
    VPrediction,
}

/// <summary>
/// The training objective: noise (with optional offset noise), noisy input, target, and the per-sample
/// MSE with optional min-SNR-γ weighting (Hang et al. 2023: weight = min(SNR, γ)/SNR for ε-prediction,
/// min(SNR, γ)/(SNR+1) for v-prediction).
/// </summary>
public sealed class DiffusionLoss
{
    public DiffusionLoss(NoiseSchedule schedule, PredictionType prediction, double noiseOffset, double minSnrGamma)
    {
        if (noiseOffset < 0)
            throw new KohyaException("InvalidHyperparameter", KohyaErrorKind.InvalidArgument, "Diffusion.NoiseOffset must not be negative.", target: "Diffusion.NoiseOffset");
        if (minSnrGamma < 0)
            throw new KohyaException("InvalidHyperparameter", KohyaErrorKind.InvalidArgument, "Diffusion.MinSnrGamma must not be negative.", target: "Diffusion.MinSnrGamma");
        Schedule = schedule;
        Prediction = prediction;
        NoiseOffset = noiseOffset;
        MinSnrGamma = minSnrGamma;
    }

    public NoiseSchedule Schedule { get; }
    public PredictionType Prediction { get; }
    public double NoiseOffset { get; }
    public double MinSnrGamma { get; }

    public static PredictionType ParsePrediction(string name) => name.ToLowerInvariant() switch
    {
        "epsilon" => PredictionType.Epsilon,
        "v_prediction" or "v" => PredictionType.VPrediction,
        _ => throw new KohyaException("InvalidHyperparameter", KohyaErrorKind.InvalidArgument,
            $"Diffusion.PredictionType '{name}' is not one of: epsilon, v_prediction.", target: "Diffusion.PredictionType"),
    };

    /// <summary>Gaussian noise shaped like <paramref name="x0"/>, plus offset noise constant over each channel.</summary>
    public Tensor SampleNoise(Tensor x0, Generator generator)
    {
        var noise = randn(x0.shape, dtype: x0.dtype, device: x0.device, generator: generator);
        if (NoiseOffset > 0)
        {
            using var offset = randn(new[] { x0.shape[0], x0.shape[1], 1L, 1L }, dtype: x0.dtype, device: x0.device, generator: generator);
            noise.add_(offset * NoiseOffset);
        }
        return noise;
    }

    /// <summary>Uniform timesteps in [0, T).</summary>
    public Tensor SampleTimesteps(long batch, Device device, Generator generator) =>
        randint(0, Schedule.Timesteps, new[] { batch }, dtype: ScalarType.Int64, device: device, generator: generator);

    /// <summary>The target the model should predict for this noise and input.</summary>
    public Tensor Target(Tensor x0, Tensor noise, Tensor timesteps) =>
        Prediction == PredictionType.Epsilon ? noise.alias() : Schedule.Velocity(x0, noise, timesteps);

    /// <summary>Mean over the batch of per-sample MSE, min-SNR weighted when γ &gt; 0.</summary>
    public Tensor Loss(Tensor prediction, Tensor target, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var perSample = (prediction.to(ScalarType.Float32) - target.to(ScalarType.Float32)).pow(2).mean(new long[] { 1, 2, 3 });
        if (MinSnrGamma > 0)
        {
            var ts = timesteps.cpu().data<long>().ToArray();
            var weights = ts.Select(t =>
            {
                double snr = Schedule.Snr((int)t);
                double w = Math.Min(snr, MinSnrGamma) / (Prediction == PredictionType.Epsilon ? snr : snr + 1);
                return (float)w;
            }).ToArray();
            perSample = perSample * tensor(weights, device: perSample.device);
        }
        return perSample.mean().MoveToOuterDisposeScope();
    }
}
