using System.Text.Json;
using KohyaPS.Contracts;
using KohyaPS.Engine.Data;

namespace KohyaPS.Engine.Training;

/// <summary>
/// The dataset as the loop consumes it: batches addressed by (epoch, batch index), each a pure function
/// of the index, the buckets and the seed — so a resumed run reads exactly the batches it would have read.
/// </summary>
public sealed class TrainingData
{
    private readonly long _seed;
    private int _planEpoch = -1;
    private IReadOnlyList<BatchPlan> _plans = Array.Empty<BatchPlan>();

    private TrainingData(DatasetIndex index, long seed)
    {
        Index = index;
        Buckets = BucketPlanner.Assign(index);
        BatchSize = index.Definition.Settings.BatchSize;
        _seed = seed;
        BatchesPerEpochCount = DataOrder.StepsPerEpoch(index, Buckets, BatchSize);
    }

    public DatasetIndex Index { get; }
    public BucketAssignment Buckets { get; }
    public int BatchSize { get; }
    private int BatchesPerEpochCount { get; }

    /// <summary>
    /// Opens a DreamBooth folder (dataset and subset settings from <paramref name="hp"/>.Data) or a kohya
    /// dataset TOML (settings from the TOML, which wins for everything it defines, batch size included).
    /// </summary>
    public static TrainingData Open(string path, KohyaHyperparameterSet hp, CancellationToken cancellation)
    {
        var d = hp.Data;
        var options = new DreamBoothFolderOptions
        {
            Dataset = new DatasetSettings
            {
                Width = d.Resolution,
                Height = d.Resolution,
                BatchSize = d.BatchSize,
                EnableBucket = d.EnableBucket,
                MinBucketReso = d.MinBucketReso,
                MaxBucketReso = d.MaxBucketReso,
                BucketResoSteps = d.BucketResoSteps,
                BucketNoUpscale = d.BucketNoUpscale,
            },
            Subset = new SubsetSettings
            {
                CaptionExtension = d.CaptionExtension,
                ShuffleCaption = d.ShuffleCaption,
                KeepTokens = d.KeepTokens,
                FlipAug = d.FlipAug,
                CaptionDropoutRate = d.CaptionDropoutRate,
            },
        };
        return new TrainingData(DatasetIndexer.Open(path, options, cancellation), hp.Training.Seed);
    }

    public int BatchesPerEpoch(int epoch) => BatchesPerEpochCount;

    /// <summary>Every caption the data can produce words from (for the demo tokenizer).</summary>
    public IEnumerable<string> Captions => Index.Entries.Select(e => e.Caption);

    public TrainingBatch Load(int epoch, int batchIndex)
    {
        if (epoch != _planEpoch)
        {
            _plans = DataOrder.Epoch(Index, Buckets, BatchSize, _seed, epoch);
            _planEpoch = epoch;
        }
        return BatchBuilder.Build(_plans[batchIndex], Index, Buckets, _seed);
    }

    /// <summary>dataset.json: the source, its settings and every file with its size (the manifest issue extends this).</summary>
    public string DescribeJson()
    {
        var def = Index.Definition;
        var doc = new
        {
            source = def.SourcePath,
            kind = def.SourceKind.ToString(),
            settings = def.Settings,
            subsets = def.Subsets.Select(s => new { directory = Path.GetRelativePath(def.RootDirectory, s.ImageDirectory), settings = s.Settings }),
            images = Index.Entries.Select(e => new
            {
                path = e.RelativePath,
                size = new FileInfo(e.AbsolutePath).Length,
                width = e.Width,
                height = e.Height,
                caption = e.Caption,
                subset = e.SubsetIndex,
                repeats = e.Repeats,
            }),
            batchesPerEpoch = BatchesPerEpochCount,
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }
}
