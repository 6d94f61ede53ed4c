using KohyaPS.Engine.Diffusion;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Sampling;

/// <summary>
/// k-diffusion's Euler sampler (Karras et al. 2022, Algorithm 2 without churn) on the training schedule: the
/// state is x = x0 + σ·ε with σ_t = sqrt((1−ᾱ_t)/ᾱ_t) at each visited timestep and σ = 0 at the end; the model
/// sees x/sqrt(σ²+1) (exactly the input it was trained on), the derivative is d = (x − x̂0)/σ and
/// x ← x + d·(σ_next − σ). It starts from noise·sqrt(σ_max²+1), the variance of x_T/sqrt(ᾱ_T) for unit-variance data.
/// </summary>
public sealed class EulerSampler : DiffusionSampler
{
    private readonly double[] _sigmas;

    public EulerSampler(NoiseSchedule schedule, PredictionType prediction, int steps) : base(schedule, prediction, steps)
    {
        _sigmas = Timesteps.Select(schedule.Sigma).Append(0.0).ToArray();
    }

    /// <summary>σ at each visited timestep, then 0.</summary>
    public IReadOnlyList<double> Sigmas => _sigmas;

    protected override Tensor Start(Tensor noise) => noise * Math.Sqrt(_sigmas[0] * _sigmas[0] + 1);

    protected override Tensor Step(Tensor x, int i, Denoiser model, Generator generator)
    {
        double sigma = _sigmas[i];
        var scaled = x / Math.Sqrt(sigma * sigma + 1);
        var (_, denoised) = Predict(model, scaled, Timesteps[i]);
        var d = (x - denoised) / sigma;
        return x + d * (_sigmas[i + 1] - sigma);
    }
}
