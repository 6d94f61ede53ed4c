using KohyaPS.Engine.Diffusion;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Sampling;

/// <summary>
/// DDIM with η = 0 (Song et al. 2021, eq. 12): deterministic, x_prev = sqrt(ᾱ_prev)·x̂0 + sqrt(1−ᾱ_prev)·ε̂.
/// After the last timestep ᾱ_prev is 1 (diffusers' <c>set_alpha_to_one</c>), so the result is the final x̂0.
/// </summary>
public sealed class DdimSampler : DiffusionSampler
{
    public DdimSampler(NoiseSchedule schedule, PredictionType prediction, int steps) : base(schedule, prediction, steps) { }

    protected override Tensor Step(Tensor x, int i, Denoiser model, Generator generator)
    {
        var (eps, x0) = Predict(model, x, Timesteps[i]);
        double prev = AlphaBarAfter(i);
        return Math.Sqrt(prev) * x0 + Math.Sqrt(1 - prev) * eps;
    }
}
