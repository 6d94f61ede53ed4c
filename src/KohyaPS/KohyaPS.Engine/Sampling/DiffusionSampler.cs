using KohyaPS.Engine.Diffusion;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Sampling;

/// <summary>
/// What a sampler calls: the model's raw output (ε or v, as the model was trained) for a noisy sample at an
/// integer training timestep. Guidance, conditioning and the model itself live behind it.
/// </summary>
public delegate Tensor Denoiser(Tensor sample, int timestep);

/// <summary>
/// A reverse-diffusion sampler over a training <see cref="NoiseSchedule"/>: from Gaussian noise to x0 in
/// <see cref="Steps"/> model calls at the schedule's trailing timesteps (<see cref="NoiseSchedule.TrailingTimesteps"/>).
/// One algorithm per subclass; all share the conversion of the model output into (ε̂, x̂0).
/// </summary>
public abstract class DiffusionSampler
{
    protected DiffusionSampler(NoiseSchedule schedule, PredictionType prediction, int steps)
    {
        Schedule = schedule;
        Prediction = prediction;
        Timesteps = schedule.TrailingTimesteps(steps);
    }

    public NoiseSchedule Schedule { get; }
    public PredictionType Prediction { get; }
    public int Steps => Timesteps.Count;

    /// <summary>The timesteps visited, descending, the first being T−1.</summary>
    public IReadOnlyList<int> Timesteps { get; }

    public static DiffusionSampler Create(SamplerKind kind, NoiseSchedule schedule, PredictionType prediction, int steps) => kind switch
    {
        SamplerKind.Ddpm => new DdpmSampler(schedule, prediction, steps),
        SamplerKind.Ddim => new DdimSampler(schedule, prediction, steps),
        SamplerKind.Euler => new EulerSampler(schedule, prediction, steps),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// Runs the sampler from <paramref name="noise"/> (standard normal, the shape of the image) and returns x0.
    /// Any further randomness (DDPM's per-step noise) comes from <paramref name="generator"/> only. The caller
    /// owns <paramref name="noise"/>; the result is a new tensor in the caller's dispose scope.
    /// </summary>
    public Tensor Sample(Tensor noise, Denoiser model, Generator generator)
    {
        Tensor x = Start(noise);
        for (int i = 0; i < Timesteps.Count; i++)
        {
            Tensor next;
            using (var scope = NewDisposeScope())
                next = Step(x, i, model, generator).MoveToOuterDisposeScope();
            if (!ReferenceEquals(x, noise)) x.Dispose();
            x = next;
        }
        return ReferenceEquals(x, noise) ? noise.clone() : x;
    }

    /// <summary>The sampler's state at the first timestep, from standard normal noise (the noise itself unless overridden).</summary>
    protected virtual Tensor Start(Tensor noise) => noise;

    /// <summary>One update from the state at <see cref="Timesteps"/>[<paramref name="i"/>] to the next (x0 after the last).</summary>
    protected abstract Tensor Step(Tensor x, int i, Denoiser model, Generator generator);

    /// <summary>ᾱ of the timestep after step <paramref name="i"/>; 1 (no noise left) after the last.</summary>
    protected double AlphaBarAfter(int i) => i + 1 < Timesteps.Count ? Schedule.AlphasCumprod[Timesteps[i + 1]] : 1.0;

    /// <summary>
    /// The model's estimates of the noise and of the clean image for <paramref name="x"/> = sqrt(ᾱ)·x0 + sqrt(1−ᾱ)·ε
    /// at timestep <paramref name="t"/>: for ε-prediction x̂0 = (x − sqrt(1−ᾱ)·ε̂)/sqrt(ᾱ); for v-prediction
    /// x̂0 = sqrt(ᾱ)·x − sqrt(1−ᾱ)·v̂ and ε̂ = sqrt(1−ᾱ)·x + sqrt(ᾱ)·v̂.
    /// </summary>
    protected (Tensor Epsilon, Tensor X0) Predict(Denoiser model, Tensor x, int t)
    {
        double a = Math.Sqrt(Schedule.AlphasCumprod[t]);
        double b = Math.Sqrt(1 - Schedule.AlphasCumprod[t]);
        var output = model(x, t);
        if (output.shape.Length != x.shape.Length || !output.shape.SequenceEqual(x.shape))
            throw new KohyaException("SamplerModelOutputInvalid", KohyaErrorKind.InvalidOperation,
                $"The model returned [{string.Join(", ", output.shape)}] for a sample of [{string.Join(", ", x.shape)}].");
        return Prediction == PredictionType.Epsilon
            ? (output, (x - b * output) / a)
            : (b * x + a * output, a * x - b * output);
    }
}
