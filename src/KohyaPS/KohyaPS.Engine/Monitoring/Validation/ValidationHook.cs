using System.Globalization;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Monitoring.Validation;

/// <summary>
/// Every Monitoring.ValidateEveryNSteps steps: the loss on the held-out images at fixed timesteps (spread evenly
/// over the schedule) with noise from a generator seeded by the run's seed — deterministic, so two measurements
/// differ only by the weights. Published as <c>val_loss</c>; a new lowest value (by more than
/// EarlyStoppingMinDelta) saves a checkpoint marked best; EarlyStoppingPatience validations in a row without one
/// stop the run. Never touches the training's random streams or gradients.
/// </summary>
public sealed class ValidationHook : ITrainingHook
{
    /// <summary>Mixed into the run's seed so validation noise never equals any training step's noise.</summary>
    private const ulong NoiseStream = 0x56414C4944415445UL; // "VALIDATE"

    /// <summary>Mixed into the run's seed for the latents a latent model validates on.</summary>
    private const ulong LatentStream = 0x56414C4C4154454EUL; // "VALLATEN"

    private readonly ValidationSet _set;

    public ValidationHook(ValidationSet set) => _set = set;

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        var settings = context.Hyperparameters.Monitoring;
        if (settings.ValidateEveryNSteps <= 0 || report.Step % settings.ValidateEveryNSteps != 0)
            return;
        double loss = Measure(context, _set);
        var m = context.Monitors;
        m.LastValidationLoss = loss;
        m.LastValidationStep = report.Step;
        context.ReportMetric("val_loss", loss);
        if (m.BestValidationLoss is not { } best || loss < best - settings.EarlyStoppingMinDelta)
        {
            m.BestValidationLoss = loss;
            m.BestValidationStep = report.Step;
            m.ValidationsWithoutImprovement = 0;
            context.RequestSave(CheckpointHook.BestReason);
            TrainingEvents.Raise(context, "BestValidation", "None",
                string.Create(CultureInfo.InvariantCulture, $"Step {report.Step}: validation loss {loss:G5} is the lowest so far; saving it as the best checkpoint."), loss, null);
            return;
        }
        m.ValidationsWithoutImprovement++;
        context.Observer.Verbose(string.Create(CultureInfo.InvariantCulture,
            $"Step {report.Step}: validation loss {loss:G5} (best {best:G5} at step {m.BestValidationStep}; {m.ValidationsWithoutImprovement} without improvement)."));
        int patience = settings.EarlyStoppingPatience;
        if (patience > 0 && m.ValidationsWithoutImprovement >= patience)
        {
            TrainingEvents.Raise(context, "EarlyStop", "Stop",
                string.Create(CultureInfo.InvariantCulture,
                    $"Early stopping at step {report.Step}: {m.ValidationsWithoutImprovement} validations without an improvement of more than {settings.EarlyStoppingMinDelta:G3} on the best loss {best:G5} (step {m.BestValidationStep})."),
                loss, best);
            context.RequestStop("early stopping");
        }
    }

    /// <summary>The mean loss over every held-out image and the fixed timesteps.</summary>
    public static double Measure(TrainingContext context, ValidationSet set)
    {
        var objective = context.Objective;
        int count = context.Hyperparameters.Monitoring.ValidationTimesteps;
        long total = objective.Schedule.Timesteps;
        double sum = 0;
        long terms = 0;
        using var noGrad = torch.no_grad();
        for (int b = 0; b < set.BatchCount; b++)
        {
            using var scope = NewDisposeScope();
            using var batch = set.Load(b);
            // A latent model's latents are drawn once per batch from a generator of their own: fixed, like the noise.
            using var latentGenerator = new Generator(StepSeeds.For(context.Hyperparameters.Training.Seed ^ (long)LatentStream, b), context.Model.Device);
            var x0 = context.Model.ToModelSpace(batch.Pixels, latentGenerator);
            long n = x0.shape[0];
            for (int k = 0; k < count; k++)
            {
                long t = Math.Min(total - 1, (long)((k + 0.5) * total / count));
                ulong seed = StepSeeds.For(context.Hyperparameters.Training.Seed ^ (long)NoiseStream, b * 1000L + k);
                using var generator = new Generator(seed, context.Model.Device);
                var noise = objective.SampleNoise(x0, generator);
                var timesteps = torch.full(new[] { n }, t, dtype: ScalarType.Int64, device: x0.device);
                var noisy = objective.Schedule.AddNoise(x0, noise, timesteps);
                var prediction = context.Model.Predict(noisy, timesteps, batch.Captions);
                var loss = objective.Loss(prediction, objective.Target(x0, noise, timesteps), timesteps);
                sum += loss.item<float>() * n;
                terms += n;
            }
        }
        return terms > 0 ? sum / terms : double.NaN;
    }
}
