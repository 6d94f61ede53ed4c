using System.ComponentModel;

namespace KohyaPS.Contracts;

/// <summary>
/// Every setting of a training run, typed and sectioned, each with a default and a description.
/// Build it from a hashtable in PowerShell (<c>[KohyaHyperparameterSet]@{ Optimizer = @{ LearningRate = 1e-4 } }</c>),
/// from YAML (Import-KohyaHyperparameterSet), or with New-KohyaHyperparameterSet. The engine validates it
/// before any work starts and names the option that is wrong.
/// </summary>
public sealed class KohyaHyperparameterSet
{
    [Description("The model architecture and its size.")]
    public ModelSection Model { get; set; } = new();

    [Description("The optimizer and its settings.")]
    public OptimizerSection Optimizer { get; set; } = new();

    [Description("The learning-rate schedule, a pure function of the optimizer step.")]
    public LRScheduleSection LRSchedule { get; set; } = new();

    [Description("Noise schedule, prediction target and loss weighting.")]
    public DiffusionSection Diffusion { get; set; } = new();

    [Description("Batching and data preprocessing.")]
    public DataSection Data { get; set; } = new();

    [Description("Threads, device and dtype.")]
    public ResourcesSection Resources { get; set; } = new();

    [Description("Length of the run: steps, epochs and the seed.")]
    public TrainingSection Training { get; set; } = new();

    [Description("When checkpoints are written and how many are kept.")]
    public SavingSection Saving { get; set; } = new();

    /// <summary>A deep copy (sections are mutable so PowerShell can build them from hashtables).</summary>
    public KohyaHyperparameterSet Clone() => new()
    {
        Model = Model.Clone(),
        Optimizer = Optimizer.Clone(),
        LRSchedule = LRSchedule.Clone(),
        Diffusion = Diffusion.Clone(),
        Data = Data.Clone(),
        Resources = Resources.Clone(),
        Training = Training.Clone(),
        Saving = Saving.Clone(),
    };
}

public sealed class ModelSection
{
    [Description("UNet size: tiny (tests), small (demo) or sd15 (Stable Diffusion 1.5).")]
    public string Preset { get; set; } = "small";

    [Description("Transformer layers of the demo text encoder.")]
    public int TextEncoderLayers { get; set; } = 2;

    [Description("Maximum caption length in tokens, including the begin token.")]
    public int MaxTokens { get; set; } = 16;

    [Description("Whether the text encoder is trained together with the UNet.")]
    public bool TrainTextEncoder { get; set; } = true;

    public ModelSection Clone() => (ModelSection)MemberwiseClone();
}

public sealed class OptimizerSection
{
    [Description("AdamW, Adam, SGD or Lion.")]
    public string Type { get; set; } = "AdamW";

    [Description("Base learning rate; the schedule scales it.")]
    public double LearningRate { get; set; } = 1e-3;

    [Description("First moment decay (Lion: update interpolation); empty means the optimizer's default (0.9).")]
    public double? Beta1 { get; set; }

    [Description("Second moment decay (Lion: momentum decay); empty means the optimizer's default (0.999, Lion 0.99).")]
    public double? Beta2 { get; set; }

    [Description("Added to the denominator for numerical stability (Adam, AdamW only).")]
    public double Epsilon { get; set; } = 1e-8;

    [Description("Weight decay (decoupled for AdamW and Lion, L2 for Adam and SGD); empty means the optimizer's default (AdamW 0.01, others 0).")]
    public double? WeightDecay { get; set; }

    [Description("SGD momentum.")]
    public double Momentum { get; set; }

    [Description("SGD Nesterov momentum.")]
    public bool Nesterov { get; set; }

    [Description("Clip the total gradient norm to this value; 0 disables clipping.")]
    public double MaxGradNorm { get; set; } = 1.0;

    public OptimizerSection Clone() => (OptimizerSection)MemberwiseClone();
}

public sealed class LRScheduleSection
{
    [Description("constant, constant_with_warmup, linear, cosine, cosine_with_restarts or polynomial.")]
    public string Name { get; set; } = "constant";

    [Description("Optimizer steps of linear warm-up from 0 (not allowed with constant; must not exceed Training.MaxSteps).")]
    public int WarmupSteps { get; set; }

    [Description("Cycles of cosine_with_restarts.")]
    public int NumCycles { get; set; } = 1;

    [Description("Power of the polynomial schedule.")]
    public double Power { get; set; } = 1.0;

    public LRScheduleSection Clone() => (LRScheduleSection)MemberwiseClone();
}

public sealed class DiffusionSection
{
    [Description("epsilon or v_prediction.")]
    public string PredictionType { get; set; } = "epsilon";

    [Description("linear or scaled_linear (Stable Diffusion's).")]
    public string BetaSchedule { get; set; } = "scaled_linear";

    [Description("First beta of the schedule.")]
    public double BetaStart { get; set; } = 0.00085;

    [Description("Last beta of the schedule.")]
    public double BetaEnd { get; set; } = 0.012;

    [Description("Diffusion timesteps of the training schedule.")]
    public int NumTrainTimesteps { get; set; } = 1000;

    [Description("Offset noise strength (0 disables).")]
    public double NoiseOffset { get; set; }

    [Description("Min-SNR loss weighting gamma (0 disables; 5 is common).")]
    public double MinSnrGamma { get; set; }

    public DiffusionSection Clone() => (DiffusionSection)MemberwiseClone();
}

public sealed class DataSection
{
    [Description("Training resolution in pixels (square side; buckets keep its area).")]
    public int Resolution { get; set; } = 32;

    [Description("Images per micro-batch.")]
    public int BatchSize { get; set; } = 8;

    [Description("Micro-batches per optimizer step.")]
    public int GradientAccumulationSteps { get; set; } = 1;

    [Description("Group images into aspect-ratio buckets.")]
    public bool EnableBucket { get; set; }

    [Description("Smallest bucket side.")]
    public int MinBucketReso { get; set; } = 16;

    [Description("Largest bucket side.")]
    public int MaxBucketReso { get; set; } = 64;

    [Description("Bucket side granularity in pixels.")]
    public int BucketResoSteps { get; set; } = 8;

    [Description("Never upscale an image to fill a bucket.")]
    public bool BucketNoUpscale { get; set; }

    [Description("Default for subsets that do not say: random horizontal flips.")]
    public bool FlipAug { get; set; }

    [Description("Default for subsets that do not say: shuffle comma-separated caption tags.")]
    public bool ShuffleCaption { get; set; }

    [Description("Default for subsets that do not say: leading tags kept in place when shuffling.")]
    public int KeepTokens { get; set; }

    [Description("Default for subsets that do not say: chance a caption is replaced by the empty prompt.")]
    public double CaptionDropoutRate { get; set; } = 0.1;

    [Description("Caption file extension for DreamBooth folders.")]
    public string CaptionExtension { get; set; } = ".txt";

    public DataSection Clone() => (DataSection)MemberwiseClone();
}

public sealed class ResourcesSection
{
    [Description("CPU threads for libtorch; 0 means all logical processors. Exact resume needs the same count.")]
    public int Threads { get; set; }

    [Description("cpu or cuda (cuda:N).")]
    public string Device { get; set; } = "cpu";

    [Description("float32 (bf16/fp16 mixed precision comes with the SD issue).")]
    public string Dtype { get; set; } = "float32";

    public ResourcesSection Clone() => (ResourcesSection)MemberwiseClone();
}

public sealed class TrainingSection
{
    [Description("Optimizer steps to train, counted across resumes (cumulative).")]
    public long MaxSteps { get; set; } = 300;

    [Description("Seed of weights, data order, noise and augmentation.")]
    public long Seed { get; set; } = 42;

    public TrainingSection Clone() => (TrainingSection)MemberwiseClone();
}

public sealed class SavingSection
{
    [Description("Write a checkpoint every N optimizer steps; 0 disables.")]
    public int SaveEveryNSteps { get; set; } = 100;

    [Description("Write a checkpoint at the end of every N epochs; 0 disables.")]
    public int SaveEveryNEpochs { get; set; }

    [Description("Keep only the newest N checkpoints; 0 keeps all.")]
    public int KeepLast { get; set; }

    [Description("Also keep every checkpoint whose step is a multiple of M, permanently; 0 disables.")]
    public int KeepEvery { get; set; }

    [Description("Write checkpoints on a background thread so training does not wait on disk.")]
    public bool AsyncSave { get; set; } = true;

    public SavingSection Clone() => (SavingSection)MemberwiseClone();
}
