using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Diffusion;

/// <summary>
/// The DDPM forward process: betas and cumulative alphas for <c>linear</c> or <c>scaled_linear</c>
/// (Stable Diffusion: sqrt-space linear from 0.00085 to 0.012 over 1000 steps). Values are computed in
/// double precision, as diffusers does, and kept as a float64 CPU table.
/// </summary>
public sealed class NoiseSchedule
{
    public NoiseSchedule(string betaSchedule, double betaStart, double betaEnd, int timesteps)
    {
        if (timesteps < 2)
            throw new KohyaException("InvalidHyperparameter", KohyaErrorKind.InvalidArgument,
                $"Diffusion.NumTrainTimesteps must be at least 2 (got {timesteps}).", target: "Diffusion.NumTrainTimesteps");
        if (!(betaStart > 0 && betaEnd > betaStart && betaEnd < 1))
            throw new KohyaException("InvalidHyperparameter", KohyaErrorKind.InvalidArgument,
                $"Diffusion.BetaStart/BetaEnd must satisfy 0 < start < end < 1 (got {betaStart}, {betaEnd}).", target: "Diffusion.BetaStart");
        Timesteps = timesteps;
        Betas = new double[timesteps];
        for (int i = 0; i < timesteps; i++)
        {
            double f = (double)i / (timesteps - 1);
            Betas[i] = betaSchedule switch
            {
                "linear" => betaStart + f * (betaEnd - betaStart),
                "scaled_linear" => Math.Pow(Math.Sqrt(betaStart) + f * (Math.Sqrt(betaEnd) - Math.Sqrt(betaStart)), 2),
                _ => throw new KohyaException("InvalidHyperparameter", KohyaErrorKind.InvalidArgument,
                    $"Diffusion.BetaSchedule '{betaSchedule}' is not one of: linear, scaled_linear.", target: "Diffusion.BetaSchedule"),
            };
        }
        AlphasCumprod = new double[timesteps];
        double product = 1;
        for (int i = 0; i < timesteps; i++)
        {
            product *= 1 - Betas[i];
            AlphasCumprod[i] = product;
        }
    }

    public int Timesteps { get; }

    public double[] Betas { get; }

    public double[] AlphasCumprod { get; }

    /// <summary>Signal-to-noise ratio ᾱ/(1-ᾱ) at each timestep.</summary>
    public double Snr(int t) => AlphasCumprod[t] / (1 - AlphasCumprod[t]);

    /// <summary>
    /// The noise level of timestep <paramref name="t"/> in k-diffusion's (variance-exploding) terms:
    /// σ = sqrt((1-ᾱ)/ᾱ), so x_t / sqrt(ᾱ) = x0 + σ·ε.
    /// </summary>
    public double Sigma(int t) => Math.Sqrt((1 - AlphasCumprod[t]) / AlphasCumprod[t]);

    /// <summary>
    /// <paramref name="steps"/> timesteps for sampling, descending, spaced as diffusers' <c>"trailing"</c>
    /// (Lin et al. 2024, table 2): round(T − i·T/steps) − 1 for i = 0 … steps−1, so the first step is always
    /// the last training timestep T−1 — the pure-noise end the model was trained on — and a single step
    /// still starts there. (With "leading" spacing a few steps never reach it.)
    /// </summary>
    public int[] TrailingTimesteps(int steps)
    {
        if (steps < 1 || steps > Timesteps)
            throw new KohyaException("InvalidSamplingSteps", KohyaErrorKind.InvalidArgument,
                $"Sampling steps must be between 1 and the {Timesteps} training timesteps (got {steps}).", target: "Steps");
        double ratio = (double)Timesteps / steps;
        var result = new int[steps];
        for (int i = 0; i < steps; i++)
            result[i] = (int)Math.Round(Timesteps - i * ratio, MidpointRounding.ToEven) - 1;
        return result;
    }

    /// <summary>ᾱ gathered for a batch of timesteps, shaped [B,1,1,1] in <paramref name="dtype"/>.</summary>
    public Tensor AlphaBar(Tensor timesteps, ScalarType dtype)
    {
        using var table = tensor(AlphasCumprod, dtype: ScalarType.Float64);
        return table.index_select(0, timesteps.to(ScalarType.Int64).cpu()).to(dtype).to(timesteps.device).view(-1, 1, 1, 1);
    }

    /// <summary>x_t = sqrt(ᾱ)·x0 + sqrt(1-ᾱ)·ε.</summary>
    public Tensor AddNoise(Tensor x0, Tensor noise, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var a = AlphaBar(timesteps, x0.dtype);
        return (a.sqrt() * x0 + (1 - a).sqrt() * noise).MoveToOuterDisposeScope();
    }

    /// <summary>v = sqrt(ᾱ)·ε − sqrt(1-ᾱ)·x0 (v-prediction target).</summary>
    public Tensor Velocity(Tensor x0, Tensor noise, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var a = AlphaBar(timesteps, x0.dtype);
        return (a.sqrt() * noise - (1 - a).sqrt() * x0).MoveToOuterDisposeScope();
    }
}
