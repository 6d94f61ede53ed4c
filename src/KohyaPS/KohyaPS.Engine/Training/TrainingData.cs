using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Datasets;
using KohyaPS.Engine.Monitoring.Validation;

namespace KohyaPS.Engine.Training;

/// <summary>
/// The dataset as the loop consumes it: batches addressed by (epoch, batch index), each a pure function
/// of the index, the buckets and the seed — so a resumed run reads exactly the batches it would have read.
/// The index is in content order (<see cref="ContentOrder"/>), so renaming files does not change the batches.
/// </summary>
public sealed class TrainingData
{
    private readonly long _seed;
    private int _planEpoch = -1;
    private IReadOnlyList<BatchPlan> _plans = Array.Empty<BatchPlan>();
    private string? _manifestJson;

    private TrainingData(DatasetIndex index, KohyaDatasetManifest manifest, long seed, double validationSplit, ValidationSet? validation)
    {
        Index = ContentOrder.Apply(index, manifest);
        if (validationSplit > 0)
        {
            var (training, heldOut) = ValidationSet.Split(Index, validationSplit);
            Index = training;
            validation = new ValidationSet(heldOut);
        }
        Validation = validation;
        Manifest = manifest;
        Buckets = BucketPlanner.Assign(Index);
        BatchSize = Index.Definition.Settings.BatchSize;
        _seed = seed;
        BatchesPerEpochCount = DataOrder.StepsPerEpoch(Index, Buckets, BatchSize);
    }

    public DatasetIndex Index { get; }
    public BucketAssignment Buckets { get; }
    public int BatchSize { get; }

    /// <summary>The held-out images (Data.ValidationSplit) or the validation folder (Data.ValidationPath); null without either.</summary>
    public ValidationSet? Validation { get; }
    private int BatchesPerEpochCount { get; }

    /// <summary>The manifest of the data as opened: what checkpoints record in dataset.json.</summary>
    public KohyaDatasetManifest Manifest { get; }

    /// <summary>
    /// Opens a DreamBooth folder (dataset and subset settings from <paramref name="hp"/>.Data) or a kohya
    /// dataset TOML (settings from the TOML, which wins for everything it defines, batch size included), and
    /// hashes every image into the manifest.
    /// </summary>
    public static TrainingData Open(string path, KohyaHyperparameterSet hp, CancellationToken cancellation,
        IProgress<KohyaDatasetProgress>? progress = null)
    {
        var index = DatasetSources.Index(path, hp, cancellation);
        var manifest = DatasetManifestBuilder.Build(index, progress, parallelism: 0, cancellation);
        ValidationSet? validation = null;
        if (!string.IsNullOrEmpty(hp.Data.ValidationPath))
        {
            var held = DatasetSources.Index(hp.Data.ValidationPath, hp, cancellation);
            validation = new ValidationSet(ContentOrder.Apply(held, DatasetManifestBuilder.Build(held, null, parallelism: 0, cancellation)));
        }
        return new TrainingData(index, manifest, hp.Training.Seed, hp.Data.ValidationSplit, validation);
    }

    public int BatchesPerEpoch(int epoch) => BatchesPerEpochCount;

    /// <summary>Every caption the data can produce words from (for the demo tokenizer).</summary>
    public IEnumerable<string> Captions => Index.Entries.Select(e => e.Caption);

    public TrainingBatch Load(int epoch, int batchIndex) => BatchBuilder.Build(Plan(epoch, batchIndex), Index, Buckets, _seed);

    /// <summary>The samples of a batch (entries, captions, augmentation) without loading pixels: what a latent cache is read by.</summary>
    public IReadOnlyList<BatchSample> Describe(int epoch, int batchIndex) => BatchBuilder.Describe(Plan(epoch, batchIndex), Index, _seed);

    private BatchPlan Plan(int epoch, int batchIndex)
    {
        if (epoch != _planEpoch)
        {
            _plans = DataOrder.Epoch(Index, Buckets, BatchSize, _seed, epoch);
            _planEpoch = epoch;
        }
        return _plans[batchIndex];
    }

    /// <summary>dataset.json: the manifest (serialized once; the data does not change during a run).</summary>
    public string DescribeJson() => _manifestJson ??= DatasetManifestJson.Serialize(Manifest);
}
