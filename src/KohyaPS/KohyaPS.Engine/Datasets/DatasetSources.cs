using KohyaPS.Contracts;
using KohyaPS.Engine.Data;

namespace KohyaPS.Engine.Datasets;

/// <summary>
/// Opens a dataset the way training does: a kohya DreamBooth folder takes its dataset and subset settings from
/// the hyperparameter set's Data section; a dataset TOML brings its own (batch size included).
/// </summary>
public static class DatasetSources
{
    /// <summary>The folder options a hyperparameter set implies for DreamBooth folders.</summary>
    public static DreamBoothFolderOptions FolderOptions(KohyaHyperparameterSet hp)
    {
        var d = hp.Data;
        return new DreamBoothFolderOptions
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
    }

    /// <summary>The definition of a folder or TOML, without looking at any image.</summary>
    public static DatasetDefinition Definition(string path, KohyaHyperparameterSet hp) =>
        DatasetIndexer.ReadDefinition(path, FolderOptions(hp));

    /// <summary>The indexed dataset (images, captions, sizes), in path order.</summary>
    public static DatasetIndex Index(string path, KohyaHyperparameterSet hp, CancellationToken cancellation = default) =>
        DatasetIndexer.Open(path, FolderOptions(hp), cancellation);

    /// <summary>Indexes the dataset and hashes it into a manifest.</summary>
    public static KohyaDatasetManifest Manifest(string path, KohyaHyperparameterSet hp, IProgress<KohyaDatasetProgress>? progress = null,
        int parallelism = 0, CancellationToken cancellation = default) =>
        DatasetManifestBuilder.Build(Index(path, hp, cancellation), progress, parallelism, cancellation);
}
