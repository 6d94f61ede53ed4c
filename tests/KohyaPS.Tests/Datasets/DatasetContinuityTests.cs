using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Datasets;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Data;
using static KohyaPS.Tests.Datasets.DatasetTestSupport;

namespace KohyaPS.Tests.Datasets;

/// <summary>The resume decision on its own: saved manifest vs the data as opened now, without training.</summary>
public sealed class DatasetContinuityTests : IDisposable
{
    private readonly TempDirectory _tmp = new();
    private readonly List<string> _warnings = new();
    private readonly List<string> _verbose = new();
    private readonly List<string> _overrides = new();

    public void Dispose() => _tmp.Dispose();

    private KohyaDatasetComparison? Reconcile(KohyaDatasetManifest? saved, string dataset, KohyaHyperparameterSet hp, TrainingState? position = null,
        bool force = false, bool accept = false)
    {
        var data = TrainingData.Open(dataset, hp, CancellationToken.None);
        return DatasetContinuity.Reconcile(saved, data, position ?? new TrainingState(), "run-s00000002", new DatasetChangePolicy(force, accept),
            _warnings.Add, _verbose.Add, _overrides);
    }

    [Fact]
    public void SameDatasetPassesQuietly()
    {
        string data = Demo(_tmp);
        var c = Reconcile(Manifest(data), data, Hp());
        Assert.True(c!.IsIdentical);
        Assert.Empty(_warnings);
        Assert.Empty(_overrides);
        Assert.Contains(_verbose, v => v.Contains("matches checkpoint 'run-s00000002'", StringComparison.Ordinal));
    }

    [Fact]
    public void PureRenameIsAcceptedWithAWarningAndNoOverride()
    {
        string data = Demo(_tmp);
        var saved = Manifest(data);
        Rename(Shapes(data), "0000", "first");
        var c = Reconcile(saved, data, Hp());
        Assert.True(c!.IsPureRename);
        Assert.Contains(_warnings, w => w.StartsWith("1 image(s) were renamed or moved", StringComparison.Ordinal));
        Assert.Empty(_overrides);
    }

    [Fact]
    public void ChangedImageIsRefusedWithTheChangesListed()
    {
        string data = Demo(_tmp);
        var saved = Manifest(data);
        DataTestFiles.SolidPng(Path.Combine(Shapes(data), "0002.png"), 16, 16, (9, 9, 9));
        File.WriteAllText(Path.Combine(Shapes(data), "0004.txt"), "new caption");
        var ex = Assert.Throws<KohyaException>(() => Reconcile(saved, data, Hp()));
        Assert.Equal(DatasetManifestErrors.DatasetChanged, ex.ErrorId);
        // 8 images with their own captions: one new caption moves 1/8 of the tag mass, above the 0.1 threshold.
        Assert.Contains("The dataset changed since checkpoint 'run-s00000002': 1 modified, 1 caption changed; tag shift 0.125 (threshold 0.1).", ex.Message);
        Assert.Contains("Modified 10_shapes/0002.png", ex.Message);
        Assert.Contains("CaptionChanged 10_shapes/0004.png:", ex.Message);
        Assert.Contains("-AcceptDatasetChanges", ex.RecommendedAction);
        Assert.Empty(_overrides);
    }

    [Theory]
    [InlineData(false, true, "-AcceptDatasetChanges")]
    [InlineData(true, false, "-Force")]
    public void AcceptedChangeIsRecordedAsAnOverride(bool force, bool accept, string switchName)
    {
        string data = Demo(_tmp);
        var saved = Manifest(data);
        File.Delete(Path.Combine(Shapes(data), "0006.png"));
        Reconcile(saved, data, Hp(), force: force, accept: accept);
        string entry = Assert.Single(_overrides);
        Assert.StartsWith("Dataset: 1 removed", entry);
        Assert.EndsWith($"accepted with {switchName}", entry);
        Assert.Contains(_warnings, w => w.Contains("The dataset changed since checkpoint", StringComparison.Ordinal));
    }

    [Fact]
    public void PositionPastTheShrunkEpochMovesToTheNextEpoch()
    {
        string data = Demo(_tmp, count: 12);
        var saved = Manifest(data); // 12 images × 10 repeats at batch 4: 30 batches per epoch
        foreach (var png in Directory.GetFiles(Shapes(data), "*.png").Order(StringComparer.Ordinal).Skip(2))
            File.Delete(png); // 2 images × 10 repeats: 5 batches per epoch
        var position = new TrainingState { Epoch = 3, BatchInEpoch = 7 };
        Reconcile(saved, data, Hp(), position, accept: true);
        Assert.Equal((4, 0), (position.Epoch, position.BatchInEpoch));
        Assert.Contains(_warnings, w => w.Contains("continuing at the start of epoch 4", StringComparison.Ordinal));
    }

    [Fact]
    public void DreamBoothSettingsFromTheHyperparametersAreLeftToTheirPolicy()
    {
        string data = Demo(_tmp);
        var saved = Manifest(data);
        var c = Reconcile(saved, data, Hp(h => h.Data.FlipAug = true));
        Assert.Equal(1, c!.PreprocessingChanged);
        Assert.Empty(_overrides);
        Assert.Contains(_verbose, v => v.Contains("Subset[10_shapes].FlipAug: false -> true (set by the hyperparameters)", StringComparison.Ordinal));
    }

    [Fact]
    public void RepeatsFromAFolderNameAreADatasetChange()
    {
        string data = Demo(_tmp);
        var saved = Manifest(data);
        Directory.Move(Shapes(data), Path.Combine(data, "3_shapes"));
        var ex = Assert.Throws<KohyaException>(() => Reconcile(saved, data, Hp()));
        Assert.Contains("PreprocessingChanged Subset[3_shapes].NumRepeats: 10 -> 3", ex.Message);
    }

    [Fact]
    public void TomlSettingsAreADatasetChange()
    {
        DataTestFiles.Captioned(_tmp.Folder("imgs"), "a.png", "a");
        string toml = _tmp.Combine("data.toml");
        File.WriteAllText(toml, "[[datasets]]\nresolution = 16\n  [[datasets.subsets]]\n  image_dir = 'imgs'\n");
        var saved = Manifest(toml);
        File.WriteAllText(toml, "[[datasets]]\nresolution = 16\n  [[datasets.subsets]]\n  image_dir = 'imgs'\n  flip_aug = true\n");
        var ex = Assert.Throws<KohyaException>(() => Reconcile(saved, toml, Hp()));
        Assert.Contains("Subset[imgs].FlipAug: false -> true", ex.Message);
    }

    [Fact]
    public void CheckpointWithoutManifestIsNotComparedAndSaysSo()
    {
        string data = Demo(_tmp);
        Assert.Null(Reconcile(null, data, Hp()));
        Assert.Contains(_warnings, w => w.Contains("holds no dataset manifest", StringComparison.Ordinal));
    }
}
