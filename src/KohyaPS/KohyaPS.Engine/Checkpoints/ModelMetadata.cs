using System.Globalization;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Checkpoints;

/// <summary>The <c>__metadata__</c> of model.safetensors: kohya <c>ss_*</c> keys where they apply, and ours.</summary>
public static class ModelMetadata
{
    public static IReadOnlyDictionary<string, string> For(TrainingContext context, CheckpointState state)
    {
        var hp = context.Hyperparameters;
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        var metadata = new Dictionary<string, string>
        {
            ["ss_steps"] = I(state.GlobalStep),
            ["ss_epoch"] = I(state.Epoch),
            ["ss_seed"] = I(hp.Training.Seed),
            ["ss_learning_rate"] = F(hp.Optimizer.LearningRate),
            ["ss_lr_scheduler"] = hp.LRSchedule.Name,
            ["ss_lr_warmup_steps"] = I(hp.LRSchedule.WarmupSteps),
            ["ss_optimizer"] = hp.Optimizer.Type,
            ["ss_max_train_steps"] = I(hp.Training.MaxSteps),
            ["ss_noise_offset"] = F(hp.Diffusion.NoiseOffset),
            ["ss_min_snr_gamma"] = F(hp.Diffusion.MinSnrGamma),
            ["ss_mixed_precision"] = "no",
            ["ss_output_name"] = context.RunName,
            ["ss_session_id"] = state.RunId,
            ["kohyaps.format_version"] = I(CheckpointState.CurrentFormatVersion),
            ["kohyaps.run_id"] = state.RunId,
            ["kohyaps.checkpoint_id"] = state.CheckpointId,
            ["kohyaps.model_preset"] = hp.Model.Preset,
            ["kohyaps.step"] = I(state.GlobalStep),
        };
        foreach (var (key, value) in context.Model.NetworkMetadata())
            metadata[key] = value;
        return metadata;
    }
}
