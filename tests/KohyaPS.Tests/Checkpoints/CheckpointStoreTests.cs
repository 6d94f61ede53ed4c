using System.Diagnostics;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Checkpoints;

[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class CheckpointStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-ckpt-").FullName;

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string TrainRun(string name, long steps, int saveEvery, Action<KohyaPS.Contracts.KohyaHyperparameterSet>? tweak = null,
        Func<string, long>? freeBytes = null)
    {
        string data = Path.Combine(_root, "data");
        if (!Directory.Exists(data)) TrainingTestSupport.DemoDataset(_root, 8);
        string run = Path.Combine(_root, name);
        TrainingRunner.Run(new TrainingRequest
        {
            Hyperparameters = TrainingTestSupport.Tiny(steps, saveEvery, tweak),
            DatasetPath = data,
            OutputPath = run,
        }, NullTrainingObserver.Instance, CancellationToken.None);
        return run;
    }

    [Fact]
    public void CheckpointHasEveryFileAndChecksumsThatSha256sumAccepts()
    {
        string run = TrainRun("r", 4, 2);
        var latest = CheckpointStore.List(run).Last();
        Assert.Equal("r-s00000004", latest.Name);
        Assert.True(latest.IsComplete);
        foreach (var f in CheckpointNames.ExpectedFiles)
            Assert.True(File.Exists(Path.Combine(latest.Path, f)), f);
        var psi = new ProcessStartInfo("sha256sum", "-c --quiet checksums.sha256") { WorkingDirectory = latest.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public void FlippedByteIsQuarantinedAndResumeFallsBackToTheNewestGoodCheckpoint()
    {
        string run = TrainRun("flip", 6, 3);
        var newest = CheckpointStore.List(run).Last();
        string model = Path.Combine(newest.Path, CheckpointNames.ModelFile);
        var bytes = File.ReadAllBytes(model);
        bytes[^5] ^= 0x10;
        File.WriteAllBytes(model, bytes);

        var warnings = new List<string>();
        string? good = CheckpointStore.LatestGood(run, warnings.Add);
        Assert.EndsWith("flip-s00000003", good);
        Assert.Single(warnings);
        Assert.Contains("model.safetensors does not match its checksum", warnings[0]);
        var all = CheckpointStore.List(run);
        Assert.Contains(all, c => c.IsQuarantined && c.Name.StartsWith("flip-s00000006.corrupt-", StringComparison.Ordinal));
        Assert.False(Directory.Exists(newest.Path));
    }

    [Fact]
    public void TruncatedOrMissingFilesMakeACheckpointUnusable()
    {
        string run = TrainRun("trunc", 2, 0);
        var c = CheckpointStore.List(run).Single();
        string optimizer = Path.Combine(c.Path, CheckpointNames.OptimizerFile);
        using (var f = new FileStream(optimizer, FileMode.Open)) f.SetLength(f.Length / 2);
        File.Delete(Path.Combine(c.Path, CheckpointNames.EnvironmentFile));
        var check = CheckpointStore.Verify(c.Path);
        Assert.False(check.IsValid);
        Assert.Contains(check.Problems, p => p.Contains("optimizer.safetensors does not match", StringComparison.Ordinal));
        Assert.Contains(check.Problems, p => p.Contains("environment.json is missing", StringComparison.Ordinal));
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Resume(new ResumeRequest { RunPath = run, MaxSteps = 4 }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("NothingToResume", ex.ErrorId);
    }

    [Fact]
    public void ChecksumListNamingAFileOutsideTheCheckpointIsRejected()
    {
        string text = new string('a', 64) + "  ../x\n";
        var ex = Assert.Throws<KohyaException>(() => Checksums.Parse(text, "checksums.sha256"));
        Assert.Equal("ChecksumListInvalid", ex.ErrorId);
        Assert.Throws<KohyaException>(() => Checksums.Parse(new string('b', 64) + "  /etc/passwd\n", "c"));
        Assert.Throws<KohyaException>(() => Checksums.Parse("nothex  model.safetensors\n", "c"));
    }

    [Fact]
    public void SaveRefusedForLackOfSpaceLeavesThePreviousCheckpointIntact()
    {
        string run = TrainRun("full", 2, 0);
        var before = CheckpointStore.List(run).Single();
        string beforeHash = Checksums.HashFile(Path.Combine(before.Path, CheckpointNames.ModelFile));
        var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Resume(new ResumeRequest
        {
            RunPath = run,
            MaxSteps = 4,
            CheckpointWriter = new CheckpointWriter(run, _ => 1000),
        }, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Equal("InsufficientDiskSpace", ex.ErrorId);
        var after = CheckpointStore.List(run);
        Assert.Single(after);
        Assert.Equal(beforeHash, Checksums.HashFile(Path.Combine(after[0].Path, CheckpointNames.ModelFile)));
    }

    [Fact]
    public void RealDiskFullDuringASaveRemovesTheTemporaryFolderAndKeepsTheOldCheckpoint()
    {
        string mount = Path.Combine(_root, "small");
        Directory.CreateDirectory(mount);
        if (!TryMountTmpfs(mount, "4m"))
            return; // not permitted on this machine (needs root); the fault-injection test above still runs
        try
        {
            string data = TrainingTestSupport.DemoDataset(_root, 8);
            string run = Path.Combine(mount, "run");
            var hp = TrainingTestSupport.Tiny(2);
            TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = run }, NullTrainingObserver.Instance, CancellationToken.None);
            var first = CheckpointStore.List(run).Single();
            var ex = Assert.Throws<KohyaException>(() => TrainingRunner.Resume(
                new ResumeRequest { RunPath = run, MaxSteps = 4, CheckpointWriter = new CheckpointWriter(run, _ => long.MaxValue) },
                NullTrainingObserver.Instance, CancellationToken.None));
            Assert.Equal("InsufficientDiskSpace", ex.ErrorId);
            Assert.IsType<IOException>(ex.InnerException);
            var after = CheckpointStore.List(run);
            Assert.Equal(new[] { first.Name }, after.Select(c => c.Name));
            Assert.True(CheckpointStore.Verify(after[0].Path).IsValid);
        }
        finally
        {
            Process.Start("umount", mount)!.WaitForExit();
        }
    }

    [Fact]
    public void RetentionKeepsTheNewestAndTheMultiplesOfKeepEvery()
    {
        string run = TrainRun("keep", 10, 1, hp => { hp.Saving.KeepLast = 2; hp.Saving.KeepEvery = 4; });
        var names = CheckpointStore.List(run).Select(c => c.Step).ToList();
        Assert.Equal(new long[] { 4, 8, 9, 10 }, names);
    }

    [Fact]
    public void TemporaryFoldersLeftByKilledSavesAreCleanedAndNeverListedAsCheckpoints()
    {
        string run = TrainRun("tmp", 2, 0);
        string leftover = Path.Combine(CheckpointNames.CheckpointsDirectory(run), ".tmp-tmp-s00000004-deadbeef");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, "model.safetensors"), "half");
        Assert.Contains(CheckpointStore.List(run), c => c.IsTemporary && !c.IsComplete);
        Assert.Equal(2, CheckpointStore.LatestGood(run, _ => { }) is { } p ? CheckpointNames.StepOf(Path.GetFileName(p)) : null);
        Assert.Single(CheckpointStore.CleanupTemporary(run));
        Assert.False(Directory.Exists(leftover));
    }

    [Fact]
    public void SecondLockOnTheSameRunIsRefusedNamingTheHolder()
    {
        string run = Path.Combine(_root, "locked");
        using (var first = RunLock.Acquire(run))
        {
            var ex = Assert.Throws<KohyaException>(() => RunLock.Acquire(run));
            Assert.Equal("RunLocked", ex.ErrorId);
            Assert.Contains($"pid {Environment.ProcessId}", ex.Message);
        }
        using var again = RunLock.Acquire(run);
        Assert.Null(again.TakenOverFrom);
    }

    [Fact]
    public void LockLeftByADeadProcessIsTakenOver()
    {
        string run = Path.Combine(_root, "stale");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, RunLock.OwnerFileName), "pid 999999 on ghost since 2026-01-01T00:00:00Z");
        File.WriteAllText(Path.Combine(run, RunLock.FileName), "");
        using var taken = RunLock.Acquire(run);
        Assert.Contains("pid 999999", taken.TakenOverFrom);
    }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> at <paramref name="path"/>; false where that is not permitted (needs root on Linux).</summary>
    internal static bool TryMountTmpfs(string path, string size)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            using var p = Process.Start(new ProcessStartInfo("mount", $"-t tmpfs -o size={size} tmpfs \"{path}\"") { RedirectStandardError = true })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
