using KohyaPS.Engine.Diffusion;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Sampling;

/// <summary>
/// Ancestral DDPM (Ho et al. 2020) over the spaced timesteps, as diffusers' DDPMScheduler does it: with
/// β' = 1 − ᾱ_t/ᾱ_prev for the jump from t to the next visited timestep, the posterior q(x_prev | x_t, x̂0) has
/// mean sqrt(ᾱ_prev)·β'/(1−ᾱ_t)·x̂0 + sqrt(1−β')·(1−ᾱ_prev)/(1−ᾱ_t)·x_t and variance (1−ᾱ_prev)/(1−ᾱ_t)·β'
/// ("fixed_small"); fresh noise from the sample's generator is added at every step but the last.
/// </summary>
public sealed class DdpmSampler : DiffusionSampler
{
    public DdpmSampler(NoiseSchedule schedule, PredictionType prediction, int steps) : base(schedule, prediction, steps) { }

    protected override Tensor Step(Tensor x, int i, Denoiser model, Generator generator)
    {
        int t = Timesteps[i];
        var (_, x0) = Predict(model, x, t);
        double abt = Schedule.AlphasCumprod[t];
        double prev = AlphaBarAfter(i);
        double beta = 1 - abt / prev;
        var mean = Math.Sqrt(prev) * beta / (1 - abt) * x0 + Math.Sqrt(1 - beta) * (1 - prev) / (1 - abt) * x;
        if (i == Timesteps.Count - 1)
            return mean;
        double variance = Math.Max((1 - prev) / (1 - abt) * beta, 1e-20);
        var noise = randn(x.shape, dtype: x.dtype, generator: generator).to(x.device);
        return mean + Math.Sqrt(variance) * noise;
    }
}
