using System.Diagnostics;
using System.Globalization;
using KohyaPS.Bench;
using KohyaPS.Engine.Native;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var options = Options.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("""
        KohyaPS.Bench [--mode quick|normal|long] [--python <python with torch>] [--peer-script <unet_step.py>]
                      [--pwsh <pwsh.dll or pwsh>] [--manifest <KohyaPS.psd1>] [--results <dir>] [--work <dir>]
                      [--only 1,2,3,4,5,6,7,8,11,12] [--threads 2] [--steps tiny:32:5:2,small:64:3:0]
                      [--wait-for-idle <seconds>] [--peer-note <text>] [--crash-summary <json>] [--dataset-hash-summary <json>]
        Prints a table of ratios measured side by side and writes <results>/<yyyy-MM-dd>.md.
        """);
    return 2;
}

void Log(string line) => Console.WriteLine(line);
if (options.WaitForIdleSeconds > 0)
    CpuMeter.WaitForIdle(TimeSpan.FromSeconds(options.WaitForIdleSeconds), 25, Log);
var total = Stopwatch.StartNew();
var cpu = new CpuMeter();
var plan = Plan.For(options.Mode);
if (options.StepsOverride is { } custom)
    plan = plan with
    {
        Steps = custom.Split(',').Select(s => s.Split(':')).Select(p => new StepPlan(p[0], int.Parse(p[1], CultureInfo.InvariantCulture),
            int.Parse(p[2], CultureInfo.InvariantCulture), p.Length > 3 ? int.Parse(p[3], CultureInfo.InvariantCulture) : 0,
            p.Length > 4 ? int.Parse(p[4], CultureInfo.InvariantCulture) : 2)).ToList(),
    };
StepBench.Threads = options.Threads;
var report = new Report(options, plan) { LoadAtStart = Tools.LoadAverage() };
Directory.CreateDirectory(options.Work);
TorchRuntime.EnsureLoaded();
TorchSharp.torch.set_num_threads(StepBench.Threads);
report.Environment = EnvironmentProbe.Describe();
Log($"KohyaPS bench, mode {options.Mode}; {Environment.ProcessorCount} CPUs, load average {report.LoadAtStart}; work folder {options.Work}");
if (Tools.LoadAverage1() > Environment.ProcessorCount)
    Log($"  warning: the machine is busy (1-minute load {Tools.LoadAverage1():0.0} > {Environment.ProcessorCount} CPUs): ratios hold better than absolute times, but even they get noisy.");

PeerProcess? peer = null;
try
{
    if (options.Runs(1) || options.Runs(2) || options.Runs(3))
    {
        if (options.Python is not null && options.PeerScript is not null)
        {
            peer = new PeerProcess(options.Python, options.PeerScript);
            report.PeerTorch = PeerVersion(options.Python);
        }
        else
        {
            report.PeerNote = options.PeerNote ?? "no Python with torch given: the PyTorch peer was skipped";
        }
        Log("== 1-3. Training step: engine vs bare TorchSharp loop vs PyTorch peer, and vs the matmul ceiling");
        foreach (var config in plan.Steps)
        {
            report.Try($"step {config.Preset} {config.Resolution}²", () =>
                report.Steps.Add(StepBench.Measure(options.Work, config.Preset, config.Resolution, config.Rounds, config.Warmup,
                    peer, config.PeerRounds, Log)), Log);
        }
    }
}
finally
{
    peer?.Dispose();
}

if (options.Runs(4) || options.Runs(7))
{
    Log("== 4, 7. Checkpoint save/load (small) vs dd and plain reads; SHA-256 vs openssl");
    report.Try("checkpoint", () => report.Checkpoint = CheckpointBench.Measure(options.Work, plan.CheckpointRounds, plan.HashBytes, Log), Log);
}

if (options.Runs(5) || options.Runs(6) || options.Runs(8))
{
    Log($"== 5, 6, 8. {plan.RunPreset} {plan.RunResolution}² runs of {plan.RunSteps} (AsyncSave on) and {plan.SyncRunSteps} (off) steps: saving overhead, RSS, resume");
    report.Try("runs", () => report.Runs = RunBench.Measure(options.Work, plan.RunPreset, plan.RunResolution, plan.RunSteps, plan.SyncRunSteps, plan.RunRounds, plan.ResumeRounds, Log), Log);
}

if (options.Runs(6))
{
    if (options.Pwsh is not null && options.Manifest is not null)
    {
        Log("== 6. Fresh pwsh: Import-Module + Get-KohyaEnvironment vs bare start");
        report.Try("pwsh", () => report.Shell = ShellBench.Measure(options.Pwsh, options.Manifest, plan.PwshRounds, Log), Log);
    }
    else
    {
        report.ShellNote = "no --pwsh/--manifest given: module import not measured";
    }
}

if (options.Runs(11))
{
    Log($"== 11. tiny-sd {plan.LatentResolution}² steps with the latent cache vs encoding every image at its step");
    report.Try("latent cache", () => report.Latent = LatentBench.Measure(options.Work, plan.LatentResolution, plan.LatentSteps, plan.LatentRounds, Log), Log);
}

if (options.Runs(12))
{
    Log($"== 12. {plan.PrecisionPreset} {plan.PrecisionResolution}² steps: float32 vs bfloat16 (float32 masters) vs float32 with gradient checkpointing");
    report.Try("precision", () => report.Precision = PrecisionBench.Measure(options.Work, plan.PrecisionPreset, plan.PrecisionResolution, plan.PrecisionSteps,
        plan.PrecisionRounds, Log), Log);
}

if (options.CrashSummary is { } crash)
    report.Try("crash trials", () => report.Crash = CrashFigures.Load(crash), Log);
if (options.DatasetHashSummary is { } hashing)
    report.Try("dataset hashing", () => report.DatasetHash = DatasetHashFigures.Load(hashing), Log);

report.LoadAtEnd = Tools.LoadAverage();
report.OthersCpuPercent = cpu.OthersPercent();
report.Elapsed = total.Elapsed;
Console.WriteLine();
Console.WriteLine(report.Table());
string path = report.Write();
Console.WriteLine($"Results: {path} (bench took {total.Elapsed.TotalMinutes:0.0} min)");
StepBench.TryDelete(options.Work);
return report.HasErrors ? 1 : 0;

static string? PeerVersion(string python)
{
    try
    {
        return Tools.RunChecked(python, new[] { "-c", "import torch; print(torch.__version__)" }).StdOut.Trim();
    }
    catch (Exception)
    {
        return null;
    }
}

namespace KohyaPS.Bench
{
    /// <param name="Warmup">Engine and bare-loop steps before the first timed round (the peer always gets one).</param>
    public sealed record StepPlan(string Preset, int Resolution, int Rounds, int PeerRounds, int Warmup = 2);

    /// <summary>How much each figure measures in each mode.</summary>
    public sealed record Plan
    {
        public required IReadOnlyList<StepPlan> Steps { get; init; }
        public int CheckpointRounds { get; init; } = 5;
        public long HashBytes { get; init; } = 256L << 20;
        public string RunPreset { get; init; } = "tiny";
        public int RunResolution { get; init; } = 16;
        public int RunSteps { get; init; } = 300;
        public int SyncRunSteps { get; init; } = 150;
        public int RunRounds { get; init; } = 1;
        public int ResumeRounds { get; init; } = 3;
        public int PwshRounds { get; init; } = 3;
        public int LatentResolution { get; init; } = 32;
        public int LatentSteps { get; init; } = 20;
        public int LatentRounds { get; init; } = 3;
        public string PrecisionPreset { get; init; } = "small";
        public int PrecisionResolution { get; init; } = 32;
        public int PrecisionSteps { get; init; } = 10;
        public int PrecisionRounds { get; init; } = 3;

        public static Plan For(string mode) => mode switch
        {
            "quick" => new Plan
            {
                Steps = new[] { new StepPlan("tiny", 32, 4, 1, 1) },
                CheckpointRounds = 3,
                HashBytes = 128L << 20,
                RunSteps = 150,
                SyncRunSteps = 120,
                ResumeRounds = 2,
                PwshRounds = 2,
                LatentSteps = 10,
                LatentRounds = 2,
                PrecisionSteps = 5,
                PrecisionRounds = 2,
            },
            "long" => new Plan
            {
                Steps = new[] { new StepPlan("tiny", 32, 8, 3), new StepPlan("small", 32, 8, 3), new StepPlan("tiny", 64, 4, 1, 1), new StepPlan("small", 64, 4, 1, 1) },
                CheckpointRounds = 7,
                HashBytes = 512L << 20,
                RunSteps = 1000,
                SyncRunSteps = 300,
                RunRounds = 2,
                ResumeRounds = 5,
                PwshRounds = 5,
            },
            _ => new Plan
            {
                Steps = new[] { new StepPlan("tiny", 32, 6, 2), new StepPlan("small", 32, 6, 2), new StepPlan("tiny", 64, 2, 0, 1) },
            },
        };
    }

    public sealed record Options
    {
        public string Mode { get; init; } = "normal";
        public string? Python { get; init; }
        public string? PeerScript { get; init; }
        public string? PeerNote { get; init; }
        public string? Pwsh { get; init; }
        public string? Manifest { get; init; }
        public string Results { get; init; } = Path.Combine(Environment.CurrentDirectory, "bench", "results");
        public string Work { get; init; } = Path.Combine(Path.GetTempPath(), $"kohyaps-bench-{Environment.ProcessId}");
        public HashSet<int>? Only { get; init; }
        public int Threads { get; init; } = 2;
        public int WaitForIdleSeconds { get; init; }

        /// <summary>The JSON summary of bench/Invoke-CrashTrials.ps1, run before this program (figure 9).</summary>
        public string? CrashSummary { get; init; }

        /// <summary>The JSON summary of bench/Measure-DatasetHashing.ps1 (figure 10).</summary>
        public string? DatasetHashSummary { get; init; }

        /// <summary>preset:resolution:rounds:peerRounds,… instead of the mode's list (figures 1–3).</summary>
        public string? StepsOverride { get; init; }

        public bool Runs(int figure) => Only is null || Only.Contains(figure);

        public static Options? Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--mode": o = o with { Mode = Next().ToLowerInvariant() }; break;
                    case "--python": o = o with { Python = Next() }; break;
                    case "--peer-script": o = o with { PeerScript = Path.GetFullPath(Next()) }; break;
                    case "--peer-note": o = o with { PeerNote = Next() }; break;
                    case "--pwsh": o = o with { Pwsh = Next() }; break;
                    case "--manifest": o = o with { Manifest = Path.GetFullPath(Next()) }; break;
                    case "--dataset-hash-summary": o = o with { DatasetHashSummary = Path.GetFullPath(Next()) }; break;
                    case "--crash-summary": o = o with { CrashSummary = Path.GetFullPath(Next()) }; break;
                    case "--results": o = o with { Results = Path.GetFullPath(Next()) }; break;
                    case "--work": o = o with { Work = Path.GetFullPath(Next()) }; break;
                    case "--threads": o = o with { Threads = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                    case "--steps": o = o with { StepsOverride = Next() }; break;
                    case "--wait-for-idle": o = o with { WaitForIdleSeconds = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                    case "--only": o = o with { Only = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToHashSet() }; break;
                    default: return null;
                }
            }
            return o.Mode is "quick" or "normal" or "long" ? o : null;
        }
    }
}
