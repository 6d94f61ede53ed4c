using System.Globalization;
using System.Text;
using KohyaPS.Contracts;

namespace KohyaPS.Bench;

public sealed record Row(string Figure, string Ours, string Reference, string Ratio, string Target, string Status);

/// <summary>Collects every figure, prints the table and writes bench/results/&lt;date&gt;.md.</summary>
public sealed class Report
{
    private readonly Options _options;
    private readonly Plan _plan;
    private readonly List<string> _errors = new();

    public Report(Options options, Plan plan)
    {
        _options = options;
        _plan = plan;
    }

    public string LoadAtStart { get; init; } = "";
    public string LoadAtEnd { get; set; } = "";
    public TimeSpan Elapsed { get; set; }
    public double OthersCpuPercent { get; set; } = double.NaN;
    public KohyaEnvironmentInfo? Environment { get; set; }
    public string? PeerTorch { get; set; }
    public string? PeerNote { get; set; }
    public string? ShellNote { get; set; }
    public List<StepFigures> Steps { get; } = new();
    public CheckpointFigures? Checkpoint { get; set; }
    public RunFigures? Runs { get; set; }
    public ShellFigures? Shell { get; set; }
    public CrashFigures? Crash { get; set; }
    public DatasetHashFigures? DatasetHash { get; set; }
    public LatentFigures? Latent { get; set; }
    public PrecisionFigures? Precision { get; set; }

    public bool HasErrors => _errors.Count > 0;

    public void Try(string what, Action action, Action<string> log)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            string message = $"{what}: {ex.GetType().Name}: {ex.Message}";
            _errors.Add(message);
            log("  ERROR " + message);
        }
    }

    private static string Judge(Series ratio, Func<double, bool> pass) =>
        ratio.Count == 0 || double.IsNaN(ratio.Median) ? "n/a" : pass(ratio.Median) ? "pass" : "FAIL";

    public IReadOnlyList<Row> Rows()
    {
        var rows = new List<Row>();
        foreach (var f in Steps)
            rows.Add(new Row($"1 engine step vs bare TorchSharp loop, {f.Label}", $"{f.Trainer.Describe("0")} ms", $"{f.Bare.Describe("0")} ms",
                f.TrainerOverBare.Describe("0.00"), "≤ 1.10", Judge(f.TrainerOverBare, r => r <= 1.10)));
        foreach (var f in Steps.Where(s => s.Peer.Count > 0))
        {
            var trainer = Series.Of(f.Trainer.Values.Take(f.Peer.Count));
            rows.Add(new Row($"2 engine step vs PyTorch {PeerTorch}, {f.Label}", $"{trainer.Describe("0")} ms", $"{f.Peer.Describe("0")} ms",
                f.TrainerOverPeer.Describe("0.000"), "≤ 0.50", Judge(f.TrainerOverPeer, r => r <= 0.5)));
        }
        if (Steps.Count > 0 && Steps.All(s => s.Peer.Count == 0))
            rows.Add(new Row("2 engine step vs PyTorch", "", "", "", "≤ 0.50", "skipped"));
        foreach (var f in Steps)
            rows.Add(new Row($"3 training GFLOP/s (3×fwd) vs fp32 matmul 1024², {f.Label}", $"{f.TrainerGflops.Describe("0.0")} GFLOP/s",
                $"{f.MatmulGflops.Describe("0")} GFLOP/s", f.CeilingFraction.Describe("0.000"), "info", "info"));
        if (Checkpoint is { } c)
        {
            rows.Add(new Row($"4 checkpoint save (small, {c.CheckpointBytes / CheckpointBench.MiB:0.0} MiB) vs dd fdatasync", $"{c.SaveMBps.Describe("0")} MiB/s",
                $"{c.DdMBps.Describe("0")} MiB/s", c.SaveOverDd.Describe("0.00"), "≥ 0.80", Judge(c.SaveOverDd, r => r >= 0.8)));
            rows.Add(new Row($"4 checkpoint load (safetensors → tensors) vs plain read", $"{c.LoadMBps.Describe("0")} MiB/s ({c.LoadMs.Describe("0")} ms)",
                $"{c.ReadMBps.Describe("0")} MiB/s", c.LoadOverRead.Describe("0.00"), "info", "info"));
        }
        if (Runs is { } r)
        {
            rows.Add(new Row($"5 save overhead every 100 steps, AsyncSave on ({r.Preset} {r.Resolution}², {r.Steps} steps)", $"{r.AsyncPercent.Describe("0.00")} %",
                $"{r.NoisePercent.Describe("0.00")} % (noise floor)", "", "≤ 2 %", Judge(r.AsyncPercent, v => v <= 2)));
            rows.Add(new Row($"5 save overhead every 100 steps, AsyncSave off ({r.SyncSteps} steps)", $"{r.SyncPercent.Describe("0.00")} %",
                $"{r.NoisePercent.Describe("0.00")} % (noise floor)", "", "info", "info"));
            if (r.ResumeMs.Count > 0)
                rows.Add(new Row($"6 Resume → first step vs fresh Run → first step ({r.Preset} {r.Resolution}²)", $"{r.ResumeMs.Describe("0")} ms",
                    $"{r.FreshMs.Describe("0")} ms", r.ResumeOverFresh.Describe("0.00"), "info", "info"));
        }
        if (Shell is { } s)
            rows.Add(new Row("6 new pwsh + Import-Module + Get-KohyaEnvironment vs bare pwsh", $"{s.ImportMs.Describe("0")} ms", $"{s.BareMs.Describe("0")} ms",
                s.ImportOverBare.Describe("0.00"), "info", "info"));
        if (Checkpoint is { } h)
            rows.Add(new Row("7 SHA-256 Checksums.HashFile vs openssl dgst (1 thread each)", $"{h.HashMBps.Describe("0")} MiB/s",
                h.OpensslMBps.Count > 0 ? $"{h.OpensslMBps.Describe("0")} MiB/s" : h.OpensslNote ?? "", h.HashOverOpenssl.Describe("0.00"), "≥ 0.90",
                Judge(h.HashOverOpenssl, v => v >= 0.9)));
        if (Checkpoint is { ParallelVerifyMBps.Count: > 0 } hp)
                rows.Add(new Row($"7b SHA-256 Checksums.Verify vs {System.Environment.ProcessorCount} openssl processes ({hp.ParallelFiles} files, all cores)",
                    $"{hp.ParallelVerifyMBps.Describe("0")} MiB/s", $"{hp.ParallelOpensslMBps.Describe("0")} MiB/s", hp.ParallelOverOpenssl.Describe("0.00"), "≥ 0.90",
                    Judge(hp.ParallelOverOpenssl, v => v >= 0.9)));
        if (Runs is { Rss.Count: > 1 } m)
            rows.Add(new Row($"8 RSS growth, step {m.Rss[0].Step} → {m.Rss[^1].Step}", $"{m.RssGrowthPercent:0.0} %",
                $"{m.Rss[0].Bytes / CheckpointBench.MiB:0} → {m.Rss[^1].Bytes / CheckpointBench.MiB:0} MiB", "", "< 5 %", m.RssGrowthPercent < 5 ? "pass" : "FAIL"));
        if (Crash is { } k)
            rows.Add(new Row($"9 kill -9 crash run: {k.Kills} kills ({k.KillsInsideSave} inside a save)",
                $"{k.Corrupt} corrupt / {k.CheckpointsTested}", $"{k.Mismatches} mismatch / {k.CheckpointsCompared}", "", "0 and 0", k.Passed ? "pass" : "FAIL"));
        if (DatasetHash is { } d)
        {
            rows.Add(new Row($"10 New-KohyaDatasetManifest vs openssl dgst, {d.Files} PNGs, 1 thread / 1 process", $"{d.ManifestOneThreadMBps:0} MiB/s",
                $"{d.OpensslOneProcessMBps:0} MiB/s", $"{d.RatioOne:0.00}", "≥ 0.90", d.RatioOne >= 0.9 ? "pass" : "FAIL"));
            rows.Add(new Row($"10 New-KohyaDatasetManifest vs openssl dgst, {d.Processors} threads / {d.Processors} processes", $"{d.ManifestAllThreadsMBps:0} MiB/s",
                $"{d.OpensslAllProcessesMBps:0} MiB/s", $"{d.RatioAll:0.00}", "≥ 0.90", d.RatioAll >= 0.9 ? "pass" : "FAIL"));
        }
        if (Latent is { } l)
        {
            rows.Add(new Row($"11 tiny-sd {l.Resolution}² step, latent cache vs encoding each image ({l.Steps} steps, batch {StepBench.Batch})",
                $"{l.CachedMs.Describe("0.0")} ms", $"{l.UncachedMs.Describe("0.0")} ms", l.CachedOverUncached.Describe("0.00"), "≤ 1.00, same bits",
                l.SameWeights ? Judge(l.CachedOverUncached, v => v <= 1.0) : "FAIL (weights differ)"));
            rows.Add(new Row($"11 filling the cache ({l.Images} images)", $"{l.FillMsPerImage.Describe("0.0")} ms/image", "", "", "info", "info"));
        }
        if (Precision is { } p)
        {
            rows.Add(new Row($"12 bfloat16 step (float32 masters) vs float32, {p.Label} ({p.Steps} steps, batch {StepBench.Batch})",
                $"{p.Bfloat16Ms.Describe("0")} ms", $"{p.Float32Ms.Describe("0")} ms", p.Bfloat16OverFloat32.Describe("0.00"), "info", "info"));
            rows.Add(new Row($"12 gradient checkpointing step vs plain, {p.Label}", $"{p.CheckpointingMs.Describe("0")} ms", $"{p.Float32Ms.Describe("0")} ms",
                p.CheckpointingOverPlain.Describe("0.00"), "≤ 1.50, same bits",
                p.CheckpointingSameWeights ? Judge(p.CheckpointingOverPlain, v => v <= 1.5) : "FAIL (weights differ)"));
        }
        return rows;
    }

    public string Table()
    {
        var rows = Rows();
        var header = new Row("figure", "ours", "peer / ceiling", "ratio", "target", "result");
        var all = new[] { header }.Concat(rows).ToList();
        int[] w =
        {
            all.Max(x => x.Figure.Length), all.Max(x => x.Ours.Length), all.Max(x => x.Reference.Length),
            all.Max(x => x.Ratio.Length), all.Max(x => x.Target.Length), all.Max(x => x.Status.Length),
        };
        var sb = new StringBuilder();
        string Line(Row x) => $"{x.Figure.PadRight(w[0])}  {x.Ours.PadLeft(w[1])}  {x.Reference.PadLeft(w[2])}  {x.Ratio.PadLeft(w[3])}  {x.Target.PadRight(w[4])}  {x.Status}";
        sb.AppendLine(Line(header));
        sb.AppendLine(new string('-', w.Sum() + 10));
        foreach (var x in rows) sb.AppendLine(Line(x));
        foreach (var e in _errors) sb.AppendLine("error: " + e);
        sb.Append(CultureInfo.InvariantCulture, $"median [min–max] over interleaved rounds; other processes used {OthersCpuPercent:0}% of the CPUs meanwhile " +
            $"(load average {LoadAtStart} at start, {LoadAtEnd} at end); {Elapsed.TotalMinutes:0.0} min");
        return sb.ToString();
    }

    public string Write()
    {
        Directory.CreateDirectory(_options.Results);
        string suffix = _options.Mode == "normal" ? "" : "-" + _options.Mode;
        string path = Path.Combine(_options.Results, DateTime.Now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + suffix + ".md");
        File.WriteAllText(path, Markdown());
        return path;
    }

    private string Markdown()
    {
        var md = new StringBuilder();
        void L(string line = "") => md.AppendLine(line);
        L($"# KohyaPS benchmarks — {DateTime.Now:yyyy-MM-dd HH:mm}");
        L();
        L($"`./build.ps1 Bench` (mode **{_options.Mode}**), {Elapsed.TotalMinutes:0.0} min. Every figure is a ratio against a peer or a ceiling measured in the same run, " +
          "in interleaved rounds (A B A B …); numbers are median [min–max] over the rounds.");
        L();
        L("## Machine");
        L();
        foreach (var line in Machine.Describe(_options.Work)) L($"- {line}");
        L($"- OMP_WAIT_POLICY={System.Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset)"} for the bench and the peer");
        if (Environment is { } e)
            L($"- Engine: KohyaPS {e.KohyaPSVersion}, TorchSharp {e.TorchSharpVersion}, libtorch {e.LibTorchVersion}, .NET {e.DotNetVersion}; torch threads {StepBench.Threads}");
        L($"- Peer: {(PeerTorch is not null ? $"PyTorch {PeerTorch} (Debian python3-torch, no MKL), {StepBench.Threads} threads" : PeerNote ?? "not run")}");
        L($"- Other processes used {OthersCpuPercent:0}% of all CPU time during the bench (load average {LoadAtStart} at start, {LoadAtEnd} at end)" +
          (OthersCpuPercent > 10
              ? " — **the machine was shared with other work during this run**: absolute times are inflated and ratios noisier than on an idle machine."
              : "."));
        L();
        L("## Results");
        L();
        L("| figure | ours | peer / ceiling | ratio | target | result |");
        L("|---|--:|--:|--:|---|---|");
        foreach (var row in Rows()) L($"| {row.Figure} | {row.Ours} | {row.Reference} | {row.Ratio} | {row.Target} | {row.Status} |");
        foreach (var err in _errors) L($"| error | {err} | | | | |");
        L();
        L("Configurations (model resolution: timed rounds / of them with the peer): " +
          string.Join(", ", _plan.Steps.Select(p => $"{p.Preset} {p.Resolution}²: {p.Rounds}/{p.PeerRounds}")) + "." +
          (_options.Mode == "long" ? "" : " small 64² and the PyTorch peer at 64² run with -Long only: one engine step there takes tens of seconds, one PyTorch 1.13 step minutes."));
        L();
        L("## How each figure is measured");
        L();
        L("**1. Engine step vs bare loop.** One real `TrainingRunner.Run` per model × resolution (demo dataset of 64 images at that resolution, " +
          $"batch {StepBench.Batch}, fp32, {StepBench.Threads} threads, no interval saves). A hook interleaves at step granularity: after each engine step " +
          "(and its built-in hooks) it runs one step of a bare loop on the same model (`TrainingModel.Create` with the same tokenizer: text encoder + UNet " +
          "forward, MSE, backward, TorchSharp's AdamW, zero_grad, a dispose scope per step, pre-made tensors), one PyTorch peer step, a matmul probe and the diagnostics below, " +
          "then hands back; the bare step comes first in even rounds and last in odd ones, so neither side always follows the other work. The engine step is timed from that hand-back to the end of the next step's hooks, so it includes data loading, noise and " +
          "timestep sampling, gradient clipping, the engine's AdamW and the loss log. Warm-up steps each side before the first round: " +
          string.Join(", ", _plan.Steps.Select(p => $"{p.Preset} {p.Resolution}² {p.Warmup}")) + "; the peer gets one.");
        L();
        L("Engine-only work per step, timed apart in every round (not part of the figures above): loading and augmenting a batch " +
          "(`TrainingData.Load`), gradient clipping (`GradientClipping.ClipByTotalNorm`), and the engine's AdamW against TorchSharp's AdamW " +
          "over the same parameters, on stand-in gradients:");
        L();
        L("| model | batch load ms | clipping ms | engine AdamW ms | TorchSharp AdamW ms |");
        L("|---|--:|--:|--:|--:|");
        foreach (var f in Steps)
            L($"| {f.Label} | {f.DataLoadMs.Describe("0.0")} | {f.ClipMs.Describe("0.0")} | {f.EngineAdamMs.Describe("0.0")} | {f.TorchAdamMs.Describe("0.0")} |");
        L();
        L("**2. PyTorch peer.** `bench/peer/unet_step.py` re-implements the same architecture (same state-dict names) and runs the bare-loop step " +
          "(forward, MSE, backward, `torch.optim.AdamW`, zero_grad) on the same shapes and thread count, served over stdin so its rounds interleave with ours " +
          "without start-up cost. Torch 1.13 has no fused attention, so the peer uses softmax(QKᵀ/√d)V.");
        L();
        L("Architecture check (parameters / state-dict tensors / forward GFLOP counted):");
        L();
        L("| model | ours | peer | match |");
        L("|---|--:|--:|---|");
        if (Steps.Count == 0) L("| not run | | | |");
        foreach (var f in Steps)
            L($"| {f.Label} | {f.Parameters:N0} / {f.Tensors} / {f.ForwardFlops / 1e9:0.000} | " +
              (f.PeerParameters is { } pp ? $"{pp:N0} / {f.PeerTensors} / {f.PeerForwardFlops / 1e9:0.000}" : "not run") + " | " +
              (f.PeerParameters is null ? "—" : f.PeerParameters == f.Parameters && f.PeerTensors == f.Tensors && Math.Abs((f.PeerForwardFlops ?? 0) - f.ForwardFlops) < 1e-6 * f.ForwardFlops ? "yes" : "**NO**") + " |");
        L();
        L("Bare loop against the peer (both on pre-made tensors):");
        L();
        if (!Steps.Any(s => s.Peer.Count > 0)) L("- not run");
        foreach (var f in Steps.Where(s => s.Peer.Count > 0))
            L($"- {f.Label}: bare {Series.Of(f.Bare.Values.Take(f.Peer.Count)).Describe("0")} ms vs peer {f.Peer.Describe("0")} ms → {f.BareOverPeer.Describe("0.000")}");
        L();
        L("**3. GFLOP/s.** Forward FLOPs = 2 × multiply-adds of every convolution, linear layer and attention product (QKᵀ, AV), walked from the " +
          "engine's `UNetConfig`/`TextEncoderConfig` (`FlopCount.cs`; the peer counts the same with forward hooks — the table above compares them). " +
          "A training step is taken as 3 × forward. The ceiling is a TorchSharp fp32 1024×1024 matmul at the same thread count, measured once per round.");
        L();
        L("**4. Checkpoint save/load.** Inside a real `small` run (after two steps, so the AdamW state exists) a snapshot is captured the way the " +
          "CheckpointHook does and written with `CheckpointWriter.Write` (all files flushed with fsync, hashed, checksum list, directory fsync, rename). " +
          "MiB/s = bytes of the checkpoint folder / write time. Ceiling: `dd if=/dev/zero bs=1M count=<same MiB> conv=fdatasync` into the same folder, " +
          "its own reported time. Load = `SafetensorsFile.Open` + `ReadAll` of model and optimizer files (warm page cache) against `File.ReadAllBytes` of the same files.");
        if (Checkpoint is { } c)
        {
            L();
            L($"- capture (CPU copies of weights and optimizer state, on the training thread): {c.CaptureMs.Describe("0.0")} ms; tensor files {c.TensorFileBytes / CheckpointBench.MiB:0.0} MiB; " +
              $"load {c.LoadMs.Describe("0.0")} ms");
            L($"- where a save's {c.SaveMs.Describe("0")} ms go (same snapshot, separately): the two safetensors files written and flushed alone " +
              $"{c.TensorWriteMs.Describe("0")} ms (data and whole file hashed while streaming, so checksums.sha256 needs no second read; " +
              $"that re-read, which saves did before, would cost {c.RehashMs.Describe("0")} ms); the rest (four small files, each fsynced, the checksum list, two directory fsyncs, rename) is the remainder. " +
              $"The same two files written by SafetensorsWriter into 1 MiB-buffered streams without preallocation: {c.BufferedWriterMs.Describe("0")} ms; " +
              $"the same tensor bytes through a plain 1 MiB-buffered FileStream with one fsync per file (no hashing): {c.RawWriteMs.Describe("0")} ms.");
            if (c.SaveMs.Count > 0 && c.RawWriteMs.Count > 0 && c.DdMBps.Count > 0)
            {
                double rawMBps = c.TensorFileBytes / CheckpointBench.MiB / (c.RawWriteMs.Median / 1000);
                L($"- why the ≥ 0.80 target does not fit a checkpoint this small: a save flushes seven files and two directories to the device " +
                  $"(each fsync waits for the disk) where dd flushes one file once. Even the plain write of just the two tensor files, one fsync each and " +
                  $"no hashing, reaches {rawMBps / c.DdMBps.Median:0.00}× dd here; the save is {c.SaveMs.Median / c.RawWriteMs.Median:0.00}× that plain write, " +
                  "the difference being the five small files' fsyncs, the directory fsyncs and the rename that make a checkpoint whole-or-absent " +
                  "(hashing for checksums.sha256 overlaps the flush). These are fixed costs per save, so the ratio rises with checkpoint size " +
                  "(an SD 1.5 checkpoint is ~100× larger); the figure to watch is the save against the plain write, and the saving overhead (figure 5).");
            }
        }
        L();
        L($"**5. Saving overhead.** Full runs ({_plan.RunPreset} {_plan.RunResolution}², batch {StepBench.Batch}, {RunBench.Warmup} warm-up steps) with " +
          $"SaveEveryNSteps 100: {_plan.RunSteps} steps with AsyncSave on, {_plan.SyncRunSteps} with it off. 16² keeps 300+ steps affordable; its steps are the " +
          "shortest, so the saving share is the largest (a conservative figure). " +
          $"Overhead = Σ over interval saves of the excess over the run's median step time of the save step and the {RunBench.Window - 1} steps after it " +
          "(the blocking part lands in the save step; a background write slows the next ones), divided by the run's wall time after warm-up. " +
          "The final save (after the last step) is outside the measured window, as it is outside training. Noise floor: the same sum at the " +
          "half-way positions (steps 50, 150, …) where nothing is saved, scaled to the number of saves.");
        if (Runs is { } r)
        {
            L();
            L($"- median step of the AsyncSave run {r.BaseStepMs.Describe("0.0")} ms; checkpoint of the {r.Preset} model as in figure 4 but smaller (weights + AdamW state).");
        }
        L();
        L("**6. Resume.** `TrainingRunner.Resume` of the async run's folder (newest verified checkpoint, +1 step) timed from the call to the first " +
          "step's end (hook), against `TrainingRunner.Run` of the same configuration from the call to its first step's end, interleaved. " +
          "Process start is measured separately: a fresh `pwsh -NoProfile` importing the built module and calling Get-KohyaEnvironment (native " +
          "libtorch load included) against a fresh pwsh running `exit 0`.");
        if (ShellNote is not null) { L(); L($"- {ShellNote}"); }
        L();
        L("**7. SHA-256.** `Checksums.HashFile` over the saved checkpoint's files, repeated to about " +
          $"{_plan.HashBytes >> 20} MiB, against `openssl dgst -sha256` over the same list (one process; its start-up, timed on /dev/null, subtracted). " +
          "Both single-threaded, warm page cache. `Checksums.Verify` (parallel over files) is shown for information.");
        if (Checkpoint is { } h)
        {
            L();
            L($"- Verify (parallel over the checkpoint's own files): {h.VerifyMBps.Describe("0")} MiB/s over {h.HashedBytes / CheckpointBench.MiB:0} MiB per round");
            if (h.ParallelVerifyMBps.Count > 0)
                L($"- Scaling (row 7b): {h.ParallelFiles} copies of the model file, `Checksums.Verify` against {System.Environment.ProcessorCount} `openssl dgst` processes " +
                  $"started together; parallel over single-thread HashFile = {h.ParallelScaling.Describe("0.00")}× on {System.Environment.ProcessorCount} logical processors.");
        }
        L();
        L($"**8. RSS.** VmRSS of the bench process every {RunBench.RssEvery} steps of the AsyncSave run (interval saves included), growth from the first sample to the last.");
        if (Runs is { Rss.Count: > 0 } m)
        {
            L();
            L("- samples (step: MiB): " + string.Join(", ", m.Rss.Select(x => $"{x.Step}: {x.Bytes / CheckpointBench.MiB:0.0}")));
        }
        L();
        L("**9. Crash run.** `bench/Invoke-CrashTrials.ps1`: the tiny demo model trains in a child pwsh (saves every 3 steps, async, each file " +
          "of a save slowed by 40 ms so kills land inside saves) and is SIGKILLed at a random moment after 1–6 more steps, again and again; " +
          "after every kill each new checkpoint must pass Test-KohyaCheckpoint and none may vanish. Then the run is resumed to its target and " +
          "every checkpoint step it shares with an uninterrupted reference run must hold the same tensor bytes (model and optimizer).");
        if (Crash is { } k)
        {
            L();
            L($"- {k.Trials} trials, {k.Kills} kills, {k.KillsInsideSave} inside a save; {k.CheckpointsTested} checkpoint tests, {k.Corrupt} corrupt; " +
              $"{k.CheckpointsCompared} checkpoints compared, {k.Mismatches} mismatches; final step {k.FinalStep}/{k.TargetStep}; {k.Seconds:0} s");
            foreach (var d in k.CorruptDetails.Concat(k.MismatchDetails)) L($"  - {d}");
        }
        else
        {
            L();
            L("- not run (Invoke-Benchmarks.ps1 runs it when given -ModuleManifest; -CrashTrials 0 skips it)");
        }
        L();
        L("**10. Dataset hashing.** `bench/Measure-DatasetHashing.ps1`: a DreamBooth folder of 1024² noise PNGs (incompressible, photo-sized), " +
          "warm page cache; `New-KohyaDatasetManifest` (indexing, headers, captions and SHA-256 of every file: what every training start and resume does) " +
          "with one thread and with one per logical processor, against `openssl dgst -sha256` in one process and split over as many; median of interleaved rounds.");
        if (DatasetHash is { } dh)
        {
            L();
            L($"- {dh.Files} files, {dh.Mebibytes:0} MiB, {dh.Rounds} rounds, {dh.Processors} logical processors");
        }
        L();
        L("**11. Latent cache.** Two real `TrainingRunner.Run`s of the tiny-sd preset per round on the 64-image demo dataset " +
          $"(batch {StepBench.Batch}, fp32, {StepBench.Threads} threads), one with `Data.CacheLatents` (a fresh cache, filled before the first step) and one " +
          "that decodes every PNG and encodes it through the VAE at its step; the order alternates by round. Step time is the mean after two warm-up steps; " +
          "the fill cost is the difference of the two runs' start-ups per image. Both runs must end on the same weights, bit for bit " +
          "(the cache holds each image's posterior, and every step draws its latents with its own generator).");
        L();
        L("**12. Mixed precision and gradient checkpointing.** Three real `TrainingRunner.Run`s per round on the demo dataset " +
          $"(batch {StepBench.Batch}, {StepBench.Threads} threads), the order rotating by round: float32; Resources.Dtype bfloat16 (the UNet and text encoder " +
          "compute in bfloat16, the optimizer updates float32 masters); float32 with Resources.GradientCheckpointing (the UNet's blocks keep no activations " +
          "and run again in backward). Step time is the mean after two warm-up steps. The checkpointed run must end on the float32 run's weights, bit for bit. " +
          "Memory is not measured here: one process's peak working set would mix the three runs.");
        if (_errors.Count > 0)
        {
            L();
            L("## Errors");
            L();
            foreach (var err in _errors) L($"- {err}");
        }
        return md.ToString();
    }
}

public static class Machine
{
    public static IEnumerable<string> Describe(string work)
    {
        yield return $"CPUs: {System.Environment.ProcessorCount} (nproc)";
        yield return $"CPU: {FirstValue("/proc/cpuinfo", "model name") ?? "unknown"}" +
                     (Flags().Length > 0 ? $" ({string.Join(", ", new[] { "avx2", "avx512f", "fma" }.Where(f => Flags().Contains(f)))})" : "");
        if (FirstValue("/proc/meminfo", "MemTotal") is { } mem && long.TryParse(mem.Split(' ')[0], out long kb))
            yield return $"Memory: {kb / 1024.0 / 1024:0.0} GiB";
        yield return $"Disk (work folder): {DiskLine(work)}";
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "";
        yield return $"OS: {OsName()}, kernel {kernel}";
    }

    private static string[] Flags() => (FirstValue("/proc/cpuinfo", "flags") ?? "").Split(' ');

    private static string? FirstValue(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line[..colon].Trim() == key) return line[(colon + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    private static string DiskLine(string work)
    {
        try
        {
            var r = Tools.Run("df", new[] { "-PhT", work });
            var fields = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string device = fields[0];
            string rotational = "";
            string name = Path.GetFileName(device);
            string rotPath = $"/sys/block/{name}/queue/rotational";
            if (File.Exists(rotPath)) rotational = File.ReadAllText(rotPath).Trim() == "0" ? ", kernel: non-rotational" : ", kernel: rotational";
            return $"{device} ({fields[1]}, {fields[2]}, {fields[4]} free{rotational}) mounted on {fields[6]}";
        }
        catch (Exception ex)
        {
            return "unknown (" + ex.Message + ")";
        }
    }

    private static string OsName()
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/os-release"))
                if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) return line[12..].Trim('"');
        }
        catch (IOException)
        {
        }
        return System.Runtime.InteropServices.RuntimeInformation.OSDescription;
    }
}
