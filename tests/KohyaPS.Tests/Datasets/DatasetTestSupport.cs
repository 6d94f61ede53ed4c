using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Datasets;
using KohyaPS.Tests.Data;

namespace KohyaPS.Tests.Datasets;

/// <summary>Demo datasets to change, and manifests of them.</summary>
internal static class DatasetTestSupport
{
    /// <summary>A demo dataset (16 px, seed 7) of <paramref name="count"/> images at <c>&lt;root&gt;/&lt;name&gt;</c>; returns its folder.</summary>
    public static string Demo(TempDirectory root, string name = "data", int count = 8, long seed = 7)
    {
        string path = root.Combine(name);
        DemoDatasetGenerator.Generate(path, count, seed, size: 16);
        return path;
    }

    /// <summary>The subset folder of a demo dataset.</summary>
    public static string Shapes(string dataset) => Path.Combine(dataset, DemoDatasetGenerator.SubsetFolderName);

    /// <summary>A hyperparameter set for 16 px images; <paramref name="tweak"/> changes it.</summary>
    public static KohyaHyperparameterSet Hp(Action<KohyaHyperparameterSet>? tweak = null)
    {
        var hp = new KohyaHyperparameterSet();
        hp.Data.Resolution = 16;
        hp.Data.BatchSize = 4;
        tweak?.Invoke(hp);
        return hp;
    }

    public static KohyaDatasetManifest Manifest(string dataset, KohyaHyperparameterSet? hp = null, int parallelism = 0) =>
        DatasetSources.Manifest(dataset, hp ?? Hp(), parallelism: parallelism);

    /// <summary>Renames an image and its caption file (same folder unless <paramref name="toFolder"/> is given).</summary>
    public static void Rename(string folder, string stem, string newStem, string? toFolder = null)
    {
        string target = toFolder ?? folder;
        Directory.CreateDirectory(target);
        File.Move(Path.Combine(folder, stem + ".png"), Path.Combine(target, newStem + ".png"));
        File.Move(Path.Combine(folder, stem + ".txt"), Path.Combine(target, newStem + ".txt"));
    }

    /// <summary>A manifest built from parts, for distribution tests: one subset, images given as (bucket size, caption, repeats).</summary>
    public static KohyaDatasetManifest Synthetic(bool buckets, params (int Width, int Height, string Caption, int Repeats)[] images)
    {
        var preprocessing = new KohyaDatasetPreprocessing
        {
            Width = 16, Height = 16, BatchSize = 1, EnableBucket = buckets, MinBucketReso = 8, MaxBucketReso = 32, BucketResoSteps = 8,
        };
        var subsets = new[] { new KohyaDatasetSubset { Directory = "1_items", NumRepeats = 1, CaptionExtension = ".txt" } };
        var settings = DatasetManifestBuilder.Settings(preprocessing);
        var planned = BucketPlanner.Plan(settings);
        var list = images.Select((x, i) => new KohyaDatasetImage
        {
            Path = $"1_items/{i:D4}.png",
            Size = 100 + i,
            Sha256 = FileHashing.HashText("image " + i),
            Width = x.Width,
            Height = x.Height,
            Caption = x.Caption,
            CaptionSha256 = FileHashing.HashText(x.Caption),
            Subset = 0,
            Repeats = x.Repeats,
            Bucket = DatasetManifestBuilder.BucketName(x.Width, x.Height, settings, planned),
        }).ToList();
        return DatasetManifestBuilder.Assemble("/synthetic", "DreamBoothFolder", DateTime.UnixEpoch, preprocessing, subsets, list);
    }
}
