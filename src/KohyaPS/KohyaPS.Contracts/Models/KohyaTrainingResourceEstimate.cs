namespace KohyaPS.Contracts;

/// <summary>
/// What a training configuration needs before it starts: parameter counts, bytes for weights, gradients,
/// optimizer state and activations on the training device, the size of one checkpoint on disk, and whether the
/// total fits a given device memory. Written by Measure-KohyaTrainingResource.
/// </summary>
public sealed class KohyaTrainingResourceEstimate
{
    /// <summary>Model preset (tiny, small, sd15).</summary>
    public string Preset { get; init; } = "";

    public int Resolution { get; init; }

    public int BatchSize { get; init; }

    /// <summary>Compute dtype: float32, bfloat16 or float16.</summary>
    public string Dtype { get; init; } = "float32";

    public bool GradientCheckpointing { get; init; }

    /// <summary>none or lora.</summary>
    public string NetworkType { get; init; } = "none";

    /// <summary>AdamW, Adam, SGD or Lion.</summary>
    public string Optimizer { get; init; } = "";

    public long UNetParameters { get; init; }

    public long TextEncoderParameters { get; init; }

    /// <summary>0 for the pixel-space presets (tiny, small), which have no VAE.</summary>
    public long VaeParameters { get; init; }

    /// <summary>Parameters the optimizer updates: the LoRA layers for lora, else the UNet (and the text encoder when trained).</summary>
    public long TrainableParameters { get; init; }

    /// <summary>Every model weight in the compute dtype, plus float32 master copies of trainable weights when computing in 16 bits.</summary>
    public long WeightBytes { get; init; }

    /// <summary>float32 gradients of the trainable parameters.</summary>
    public long GradientBytes { get; init; }

    /// <summary>float32 optimizer slots per trainable parameter: AdamW/Adam 2, Lion 1, SGD 1 with momentum, else 0.</summary>
    public long OptimizerStateBytes { get; init; }

    /// <summary>Tensors kept for the backward pass at this batch size and resolution (see ActivationModel).</summary>
    public long ActivationBytes { get; init; }

    /// <summary>Weights + gradients + optimizer state + activations.</summary>
    public long TotalBytes { get; init; }

    /// <summary>One checkpoint on disk: trainable weights in float32 plus the optimizer state.</summary>
    public long CheckpointBytes { get; init; }

    /// <summary>The memory compared against (-DeviceMemory, or the first CUDA device's total); null when unknown.</summary>
    public long? DeviceMemoryBytes { get; init; }

    /// <summary>TotalBytes ≤ DeviceMemoryBytes; null when no device memory is known.</summary>
    public bool? Fits { get; init; }

    /// <summary>How the activation figure was obtained.</summary>
    public string ActivationModel { get; init; } = "";
}
