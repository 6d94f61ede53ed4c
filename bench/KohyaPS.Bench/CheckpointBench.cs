using System.Diagnostics;
using System.Text.Json;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Native;
using KohyaPS.Engine.Training;
using TorchSharp;

namespace KohyaPS.Bench;

public sealed class CheckpointFigures
{
    public long CheckpointBytes { get; set; }
    public long TensorFileBytes { get; set; }
    public Series CaptureMs { get; } = new();
    public Series SaveMs { get; } = new();
    public Series TensorWriteMs { get; } = new();
    public Series RehashMs { get; } = new();
    public Series RawWriteMs { get; } = new();
    public Series BufferedWriterMs { get; } = new();
    public Series SaveMBps { get; } = new();
    public Series DdMBps { get; } = new();
    public Series LoadMBps { get; } = new();
    public Series ReadMBps { get; } = new();
    public Series LoadMs { get; } = new();
    public Series HashMBps { get; } = new();
    public Series OpensslMBps { get; } = new();
    public Series VerifyMBps { get; } = new();
    public Series ParallelVerifyMBps { get; } = new();
    public Series ParallelOpensslMBps { get; } = new();
    public int ParallelFiles { get; set; }
    public long HashedBytes { get; set; }
    public string? OpensslNote { get; set; }

    public Series SaveOverDd => Series.Ratio(SaveMBps, DdMBps);
    public Series LoadOverRead => Series.Ratio(LoadMBps, ReadMBps);
    public Series HashOverOpenssl => Series.Ratio(HashMBps, OpensslMBps);
    public Series ParallelOverOpenssl => Series.Ratio(ParallelVerifyMBps, ParallelOpensslMBps);
    public Series ParallelScaling => Series.Ratio(ParallelVerifyMBps, HashMBps);
}

/// <summary>
/// Checkpoint writing and reading of a live <c>small</c> model (weights and AdamW state after two real steps),
/// against dd with fdatasync on the same disk and a plain read of the same bytes; then SHA-256 against OpenSSL.
/// </summary>
public static class CheckpointBench
{
    public const double MiB = 1024 * 1024;

    public static CheckpointFigures Measure(string work, int rounds, long hashTargetBytes, Action<string> log)
    {
        var figures = new CheckpointFigures();
        string dataset = StepBench.Dataset(work, 32);
        var hp = StepBench.Hyperparameters("small", 32, 2);
        string run = Path.Combine(work, "runs", "checkpoint-small");
        string? kept = null;
        var clock = new StepClock
        {
            OnStep = (context, report) =>
            {
                if (report.Step < context.TargetStep) return;
                kept = SaveRounds(context, Path.Combine(work, "saves"), rounds, figures, log);
            },
        };
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = dataset, OutputPath = run, ExtraHooks = new[] { clock } },
            NullTrainingObserver.Instance, CancellationToken.None);
        LoadRounds(kept!, rounds, figures, log);
        HashRounds(kept!, rounds, hashTargetBytes, figures, log);
        StepBench.TryDelete(run);
        return figures;
    }

    /// <summary>A snapshot captured exactly as the engine's CheckpointHook captures one.</summary>
    public static CheckpointSnapshot Capture(TrainingContext context, string runName, string environmentJson) =>
        CheckpointSnapshot.Capture(context, runName, "Bench", Guid.NewGuid().ToString("N"), null, new List<SegmentRecord>(), null,
            context.Data.DescribeJson(), environmentJson);

    private static string SaveRounds(TrainingContext context, string root, int rounds, CheckpointFigures figures, Action<string> log)
    {
        string? kept = null;
        string environmentJson = JsonSerializer.Serialize(EnvironmentProbe.Describe()); // once per run, as the engine does
        for (int r = 0; r < rounds; r++)
        {
            string runDir = Path.Combine(root, $"save-{r}");
            long t0 = Stopwatch.GetTimestamp();
            using var snapshot = Capture(context, $"save{r}", environmentJson);
            figures.CaptureMs.Add(StepClock.Ms(t0, Stopwatch.GetTimestamp()));

            long t1 = Stopwatch.GetTimestamp();
            string written = new CheckpointWriter(runDir).Write(snapshot);
            double seconds = StepClock.Ms(t1, Stopwatch.GetTimestamp()) / 1000;
            long bytes = Tools.DirectoryBytes(written);
            figures.CheckpointBytes = bytes;
            figures.SaveMBps.Add(bytes / MiB / seconds);
            figures.SaveMs.Add(seconds * 1000);
            Breakdown(snapshot, Path.Combine(root, $"parts-{r}"), figures);

            long mb = (long)Math.Ceiling(bytes / MiB);
            double ddSeconds = Tools.DdSeconds(Path.Combine(root, $"dd-{r}.bin"), mb);
            figures.DdMBps.Add(mb / ddSeconds);
            log($"  checkpoint save round {r + 1}/{rounds}: {bytes / MiB:0.0} MiB in {seconds * 1000:0} ms ({figures.SaveMBps.Values[^1]:0} MiB/s), dd {figures.DdMBps.Values[^1]:0} MiB/s");

            if (kept is not null) StepBench.TryDelete(Path.GetDirectoryName(Path.GetDirectoryName(kept))!);
            kept = written;
        }
        return kept!;
    }

    /// <summary>
    /// Where a save's time goes: the two safetensors files written alone (SafetensorsWriter, which hashes data and
    /// file as it streams and flushes to disk), and what re-reading them for checksums.sha256 would cost (saves
    /// before 2026-11-25 did that; now the writer's own hashes go into the list).
    /// </summary>
    private static void Breakdown(CheckpointSnapshot snapshot, string dir, CheckpointFigures figures)
    {
        Directory.CreateDirectory(dir);
        string model = Path.Combine(dir, CheckpointNames.ModelFile), optimizer = Path.Combine(dir, CheckpointNames.OptimizerFile);
        long t0 = Stopwatch.GetTimestamp();
        SafetensorsWriter.Write(model, snapshot.Model, snapshot.ModelMetadata, false, hashData: false); // as CheckpointWriter does
        SafetensorsWriter.Write(optimizer, snapshot.Optimizer.Tensors, null, false, hashData: false);
        long t1 = Stopwatch.GetTimestamp();
        Checksums.HashFile(model);
        Checksums.HashFile(optimizer);
        long t2 = Stopwatch.GetTimestamp();
        figures.TensorWriteMs.Add(StepClock.Ms(t0, t1));
        figures.RehashMs.Add(StepClock.Ms(t1, t2));
        File.Delete(model);
        File.Delete(optimizer);

        // SafetensorsWriter again, into 1 MiB-buffered streams without preallocation (its Stream overload): the
        // same hashing and layout, a different way to the disk.
        long b0 = Stopwatch.GetTimestamp();
        using (var stream = new FileStream(model, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            SafetensorsWriter.Write(stream, snapshot.Model, snapshot.ModelMetadata);
        using (var stream = new FileStream(optimizer, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            SafetensorsWriter.Write(stream, snapshot.Optimizer.Tensors, null);
        figures.BufferedWriterMs.Add(StepClock.Ms(b0, Stopwatch.GetTimestamp()));
        File.Delete(model);
        File.Delete(optimizer);

        // The same tensor bytes through a plain buffered FileStream and one fsync per file: no hashing, no preallocation.
        long t3 = Stopwatch.GetTimestamp();
        foreach (var (path, tensors) in new[] { (model, snapshot.Model.Select(kv => kv.Value)), (optimizer, snapshot.Optimizer.Tensors.Values) })
        {
            using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            foreach (var tensor in tensors)
            {
                using var contiguous = tensor.contiguous();
                stream.Write(contiguous.bytes);
            }
            stream.Flush(flushToDisk: true);
        }
        figures.RawWriteMs.Add(StepClock.Ms(t3, Stopwatch.GetTimestamp()));
        StepBench.TryDelete(dir);
    }

    private static void LoadRounds(string checkpoint, int rounds, CheckpointFigures figures, Action<string> log)
    {
        var files = new[] { CheckpointNames.ModelFile, CheckpointNames.OptimizerFile }.Select(f => Path.Combine(checkpoint, f)).ToArray();
        long bytes = files.Sum(f => new FileInfo(f).Length);
        figures.TensorFileBytes = bytes;
        for (int r = 0; r < rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            foreach (var f in files)
            {
                using var file = SafetensorsFile.Open(f);
                foreach (var (_, tensor) in file.ReadAll()) tensor.Dispose();
            }
            double ms = StepClock.Ms(t0, Stopwatch.GetTimestamp());
            figures.LoadMs.Add(ms);
            figures.LoadMBps.Add(bytes / MiB / (ms / 1000));

            long t1 = Stopwatch.GetTimestamp();
            long total = 0;
            foreach (var f in files) total += File.ReadAllBytes(f).Length;
            double readMs = StepClock.Ms(t1, Stopwatch.GetTimestamp());
            figures.ReadMBps.Add(total / MiB / (readMs / 1000));
            log($"  checkpoint load round {r + 1}/{rounds}: {ms:0.0} ms ({figures.LoadMBps.Values[^1]:0} MiB/s), plain read {figures.ReadMBps.Values[^1]:0} MiB/s");
        }
    }

    /// <summary>
    /// Checksums.HashFile (one thread) against <c>openssl dgst -sha256</c> (one process, one thread) over the
    /// checkpoint's files, each repeated until about <paramref name="targetBytes"/> are hashed; the page cache is
    /// warm for both. OpenSSL's process start-up (timed on /dev/null) is subtracted.
    /// </summary>
    private static void HashRounds(string checkpoint, int rounds, long targetBytes, CheckpointFigures figures, Action<string> log)
    {
        string? openssl = Tools.Which("openssl");
        var files = Directory.GetFiles(checkpoint).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        long setBytes = files.Sum(f => new FileInfo(f).Length);
        int repeats = (int)Math.Max(1, Math.Ceiling((double)targetBytes / setBytes));
        var list = Enumerable.Repeat(files, repeats).SelectMany(f => f).ToArray();
        long bytes = setBytes * repeats;
        figures.HashedBytes = bytes;
        if (openssl is null) figures.OpensslNote = "openssl not found";

        foreach (var f in files) Checksums.HashFile(f); // warm the cache
        for (int r = 0; r < rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            foreach (var f in list) Checksums.HashFile(f);
            figures.HashMBps.Add(bytes / MiB / (StepClock.Ms(t0, Stopwatch.GetTimestamp()) / 1000));

            if (openssl is not null)
            {
                double startup = Tools.RunChecked(openssl, new[] { "dgst", "-sha256", "/dev/null" }).Ms;
                var run = Tools.RunChecked(openssl, new[] { "dgst", "-sha256" }.Concat(list));
                figures.OpensslMBps.Add(bytes / MiB / (Math.Max(1e-3, run.Ms - startup) / 1000));
            }

            var entries = Checksums.Parse(File.ReadAllText(Path.Combine(checkpoint, Checksums.FileName)), checkpoint);
            long verifyBytes = entries.Sum(e => new FileInfo(Path.Combine(checkpoint, e.FileName)).Length);
            long t2 = Stopwatch.GetTimestamp();
            int verifyRepeats = (int)Math.Max(1, bytes / Math.Max(1, verifyBytes));
            for (int i = 0; i < verifyRepeats; i++)
                if (Checksums.Verify(checkpoint, entries).Any(x => !x.Matches))
                    throw new InvalidOperationException($"Checksums of {checkpoint} do not match.");
            figures.VerifyMBps.Add(verifyBytes * (double)verifyRepeats / MiB / (StepClock.Ms(t2, Stopwatch.GetTimestamp()) / 1000));
            log($"  sha-256 round {r + 1}/{rounds}: HashFile {figures.HashMBps.Values[^1]:0} MiB/s"
                + (openssl is not null ? $", openssl {figures.OpensslMBps.Values[^1]:0} MiB/s" : "") + $", Verify {figures.VerifyMBps.Values[^1]:0} MiB/s");
        }
        if (openssl is not null)
            ParallelHashRounds(files.OrderByDescending(f => new FileInfo(f).Length).First(), openssl, rounds, targetBytes, figures, log);
    }

    /// <summary>
    /// Scaling with cores: one copy of the model file per logical processor, verified by
    /// <c>Checksums.Verify</c> (parallel over files, as Test-KohyaCheckpoint does) against as many
    /// <c>openssl dgst -sha256</c> processes started together, one per file (start-up subtracted). Interleaved.
    /// </summary>
    private static void ParallelHashRounds(string model, string openssl, int rounds, long targetBytes, CheckpointFigures figures, Action<string> log)
    {
        int n = Environment.ProcessorCount;
        string dir = Directory.CreateTempSubdirectory("kohya-bench-hash-").FullName;
        try
        {
            long size = new FileInfo(model).Length;
            int copiesPerCore = (int)Math.Max(1, Math.Ceiling((double)targetBytes / n / size));
            var files = new List<string>();
            for (int i = 0; i < n * copiesPerCore; i++)
            {
                string f = Path.Combine(dir, $"m{i}.safetensors");
                File.Copy(model, f);
                files.Add(f);
            }
            var entries = files.Select(f => new ChecksumEntry(Path.GetFileName(f), Checksums.HashFile(f))).ToList(); // also warms the cache
            long bytes = size * files.Count;
            figures.ParallelFiles = files.Count;
            var groups = Enumerable.Range(0, n).Select(k => files.Where((_, i) => i % n == k).ToArray()).ToArray();
            for (int r = 0; r < rounds; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                if (Checksums.Verify(dir, entries).Any(x => !x.Matches))
                    throw new InvalidOperationException("parallel verification disagreed with the hashes just computed");
                figures.ParallelVerifyMBps.Add(bytes / MiB / (StepClock.Ms(t0, Stopwatch.GetTimestamp()) / 1000));

                double startup = Tools.RunChecked(openssl, new[] { "dgst", "-sha256", "/dev/null" }).Ms;
                long t1 = Stopwatch.GetTimestamp();
                Parallel.ForEach(groups, new ParallelOptions { MaxDegreeOfParallelism = n },
                    g => Tools.RunChecked(openssl, new[] { "dgst", "-sha256" }.Concat(g)));
                figures.ParallelOpensslMBps.Add(bytes / MiB / (Math.Max(1e-3, StepClock.Ms(t1, Stopwatch.GetTimestamp()) - startup) / 1000));
                log($"  sha-256 parallel round {r + 1}/{rounds} ({files.Count} files, {n} cores): Verify {figures.ParallelVerifyMBps.Values[^1]:0} MiB/s, " +
                    $"{n} openssl processes {figures.ParallelOpensslMBps.Values[^1]:0} MiB/s");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
