using System.Diagnostics;
using KohyaPS.Contracts;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Optim;
using KohyaPS.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Bench;

/// <summary>Timestamps every optimizer step of a real run (after the built-in hooks of that step have run).</summary>
public sealed class StepClock : ITrainingHook
{
    public long CalledAt { get; init; } = Stopwatch.GetTimestamp();
    public long StartedAt { get; private set; }
    public long EndedAt { get; private set; }
    public List<long> StepEnded { get; } = new();
    public Action<TrainingContext, StepReport>? OnStep { get; init; }

    public void OnRunStarted(TrainingContext context) => StartedAt = Stopwatch.GetTimestamp();

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        StepEnded.Add(Stopwatch.GetTimestamp());
        OnStep?.Invoke(context, report);
    }

    public void OnRunEnded(TrainingContext context, string status) => EndedAt = Stopwatch.GetTimestamp();

    /// <summary>Mean milliseconds per step over steps warmup+1 … last.</summary>
    public double MsPerStep(int warmup)
    {
        int n = StepEnded.Count - warmup;
        if (warmup < 1 || n < 1) throw new InvalidOperationException($"Need more than {warmup} steps, have {StepEnded.Count}.");
        return Ms(StepEnded[warmup - 1], StepEnded[^1]) / n;
    }

    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}

/// <summary>One model × resolution: the engine's step, a bare TorchSharp loop and the PyTorch peer, interleaved.</summary>
public sealed class StepFigures
{
    public required string Preset { get; init; }
    public required int Resolution { get; init; }
    public Series Trainer { get; } = new();
    public Series Bare { get; } = new();
    public Series Peer { get; } = new();
    public Series MatmulGflops { get; } = new();
    public Series DataLoadMs { get; } = new();
    public Series ClipMs { get; } = new();
    public Series EngineAdamMs { get; } = new();
    public Series TorchAdamMs { get; } = new();
    public long Parameters { get; set; }
    public int Tensors { get; set; }
    public long? PeerParameters { get; set; }
    public int? PeerTensors { get; set; }
    public double ForwardFlops { get; set; }
    public double? PeerForwardFlops { get; set; }
    public string? PeerNote { get; set; }

    public string Label => $"{Preset} {Resolution}²";

    public Series TrainerOverBare => Series.Ratio(Trainer, Bare);
    public Series TrainerOverPeer => Series.Ratio(Trainer, Peer);
    public Series BareOverPeer => Series.Ratio(Bare, Peer);

    /// <summary>Training GFLOP/s (3 × forward) of the engine step, per round.</summary>
    public Series TrainerGflops => Series.Of(Trainer.Values.Select(ms => 3 * ForwardFlops / (ms / 1000) / 1e9));

    /// <summary>Fraction of the matmul ceiling measured in the same round.</summary>
    public Series CeilingFraction => Series.Ratio(TrainerGflops, MatmulGflops);
}

public static class StepBench
{
    public const int Batch = 8;
    public static int Threads { get; set; } = 2;

    public static KohyaHyperparameterSet Hyperparameters(string preset, int resolution, long steps)
    {
        var hp = new KohyaHyperparameterSet();
        hp.Model.Preset = preset;
        hp.Data.Resolution = resolution;
        hp.Data.BatchSize = Batch;
        hp.Resources.Threads = Threads;
        hp.Resources.Dtype = "float32";
        hp.Training.MaxSteps = steps;
        hp.LRSchedule.Name = "constant_with_warmup"; // the constant schedule refuses a warm-up
        hp.LRSchedule.WarmupSteps = (int)Math.Min(10, steps);
        hp.Saving.SaveEveryNSteps = 0;
        hp.Saving.AsyncSave = false;
        return hp;
    }

    /// <summary>The demo dataset at one resolution, generated once per bench run.</summary>
    public static string Dataset(string work, int resolution)
    {
        string path = Path.Combine(work, $"data-{resolution}");
        if (!Directory.Exists(Path.Combine(path, DemoDatasetGenerator.SubsetFolderName)))
            DemoDatasetGenerator.Generate(path, count: 64, seed: 42, size: resolution);
        return path;
    }

    /// <summary>Runs the engine for warmup + steps and returns its step clock.</summary>
    public static StepClock RunTrainer(string work, string dataset, string preset, int resolution, int warmup, int steps, string tag)
    {
        var hp = Hyperparameters(preset, resolution, warmup + steps);
        string output = Path.Combine(work, "runs", $"{tag}-{Guid.NewGuid():N}");
        var clock = new StepClock();
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = dataset, OutputPath = output, ExtraHooks = new[] { clock } },
            NullTrainingObserver.Instance, CancellationToken.None);
        TryDelete(output);
        return clock;
    }

    /// <summary>Runs <paramref name="hp"/> to its end with a step clock; returns the clock and the final checkpoint's model.safetensors (the run folder is kept until the caller deletes <paramref name="folder"/>).</summary>
    public static (StepClock Clock, string Model) RunToCheckpoint(string folder, string dataset, KohyaHyperparameterSet hp, string tag)
    {
        string output = Path.Combine(folder, $"{tag}-{Guid.NewGuid():N}");
        var clock = new StepClock();
        var result = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = dataset, OutputPath = output, ExtraHooks = new[] { clock } },
            NullTrainingObserver.Instance, CancellationToken.None);
        return (clock, Path.Combine(result.LatestCheckpoint!, "model.safetensors"));
    }

    /// <summary>
    /// Interleaves at step granularity inside one real run: after each engine step (once its built-in hooks have
    /// run) a hook runs one bare step, one peer step, a matmul probe and the engine-only diagnostics, then hands back. An engine step is timed
    /// from the moment the hook hands back to the end of the next step's built-in hooks — data loading, forward,
    /// backward, clipping, AdamW and the loss log included — so A B A B … rounds share the same machine state.
    /// </summary>
    public static StepFigures Measure(string work, string preset, int resolution, int rounds, int warmup,
        PeerProcess? peer, int peerRounds, Action<string> log)
    {
        var figures = new StepFigures { Preset = preset, Resolution = resolution };
        string dataset = Dataset(work, resolution);
        var hp = Hyperparameters(preset, resolution, warmup + rounds + 1);
        var data = TrainingData.Open(dataset, hp, CancellationToken.None);
        var tokenizer = WordTokenizer.FromCaptions(data.Captions, hp.Model.MaxTokens);

        torch.set_num_threads(Threads);
        using var bare = new BareLoop(hp, tokenizer, data.Captions.Take(Batch).ToList(), resolution);
        figures.Parameters = bare.Parameters;
        figures.Tensors = bare.Tensors;
        figures.ForwardFlops = FlopCount.Forward(bare.Model.UNet.Config, bare.Model.TextEncoder.Config, Batch, resolution);
        for (int i = 0; i < warmup; i++) bare.Step();

        if (peerRounds <= 0) peer = null;
        if (peer is not null)
        {
            var info = peer.Send(new { cmd = "setup", preset, res = resolution, batch = Batch, tokens = hp.Model.MaxTokens,
                vocab = tokenizer.VocabularySize, text_layers = hp.Model.TextEncoderLayers, threads = Threads });
            figures.PeerParameters = (long)info["parameters"]!;
            figures.PeerTensors = (int)info["tensors"]!;
            figures.PeerForwardFlops = (double)info["forward_flops"]!;
            if ((int)info["threads"]! != Threads) figures.PeerNote = $"peer runs {info["threads"]} threads";
            peer.Send(new { cmd = "run", warmup = 0, steps = 1 }); // its first step allocates
        }

        long resumedAt = 0;
        int round = 0;
        var clock = new StepClock
        {
            OnStep = (context, report) =>
            {
                long ended = Stopwatch.GetTimestamp();
                if (report.Step > warmup && round < rounds)
                {
                    bool withPeer = peer is not null && round < peerRounds;
                    figures.Trainer.Add(StepClock.Ms(resumedAt, ended));
                    // Whatever runs just before a timed step leaves the allocator and caches in its state, so the order
                    // alternates: even rounds [bare, other work] (the engine step follows other work), odd rounds
                    // [other work, bare] (the engine step follows a bare step). Medians then see both orders.
                    if (round % 2 == 0) figures.Bare.Add(bare.TimedStep());
                    if (withPeer)
                        figures.Peer.Add((double)peer!.Send(new { cmd = "run", warmup = 0, steps = 1 })["ms_per_step"]!);
                    figures.MatmulGflops.Add(MatmulCeiling.Measure());
                    long l0 = Stopwatch.GetTimestamp();
                    using (context.Data.Load(context.State.Epoch, context.State.BatchInEpoch)) { }
                    figures.DataLoadMs.Add(StepClock.Ms(l0, Stopwatch.GetTimestamp()));
                    var (clip, engineAdam, torchAdam) = bare.OptimizerParts();
                    figures.ClipMs.Add(clip);
                    figures.EngineAdamMs.Add(engineAdam);
                    figures.TorchAdamMs.Add(torchAdam);
                    if (round % 2 == 1) figures.Bare.Add(bare.TimedStep());
                    round++;
                    log($"  {figures.Label} round {round}/{rounds}: engine {figures.Trainer.Values[^1]:0.0} ms, bare {figures.Bare.Values[^1]:0.0} ms"
                        + (withPeer ? $", peer {figures.Peer.Values[^1]:0} ms" : "") + $", matmul {figures.MatmulGflops.Values[^1]:0} GFLOP/s");
                }
                if (round >= rounds) context.RequestStop("bench rounds done");
                resumedAt = Stopwatch.GetTimestamp();
            },
        };
        string output = Path.Combine(work, "runs", $"step-{preset}-{resolution}-{Guid.NewGuid():N}");
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = dataset, OutputPath = output, ExtraHooks = new[] { clock } },
            NullTrainingObserver.Instance, CancellationToken.None);
        TryDelete(output);
        return figures;
    }

    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>
/// The same model the engine trains, stepped by hand: forward (text encoder + UNet), MSE against the noise,
/// backward, TorchSharp's own AdamW, zero_grad — one dispose scope per step, on tensors made once.
/// </summary>
public sealed class BareLoop : IDisposable
{
    private readonly Tensor _noisy, _noise, _timesteps, _ids;
    private readonly optim.Optimizer _optimizer;
    private readonly KohyaOptimizer _engineOptimizer;

    public BareLoop(KohyaHyperparameterSet hp, WordTokenizer tokenizer, IReadOnlyList<string> captions, int resolution)
    {
        Model = TrainingModel.Create(hp.Model, tokenizer, hp.Training.Seed, torch.CPU);
        var parameters = Model.TrainableParameters.Select(p => p.Param).ToList();
        Parameters = parameters.Sum(p => p.numel());
        Tensors = Model.StateTensors().Count();
        _optimizer = optim.AdamW(parameters, lr: 1e-4, weight_decay: 0.01);
        _engineOptimizer = OptimizerFactory.Create(new OptimizerSettings { Type = OptimizerFactory.AdamW, WeightDecay = 0.01 }, Model.TrainableParameters);
        var generator = new Generator(7);
        using var x0 = randn(new long[] { captions.Count, Model.UNet.Config.InChannels, resolution, resolution }, generator: generator);
        _noise = randn(x0.shape, generator: generator);
        _noisy = x0 * 0.7 + _noise * 0.7;
        _timesteps = randint(0, 1000, new long[] { captions.Count }, dtype: ScalarType.Int64, generator: generator);
        _ids = tokenizer.EncodeBatch(captions);
    }

    public TrainingModel Model { get; }
    public long Parameters { get; }
    public int Tensors { get; }

    /// <summary>Milliseconds of one step.</summary>
    public double TimedStep()
    {
        long start = Stopwatch.GetTimestamp();
        Step();
        return StepClock.Ms(start, Stopwatch.GetTimestamp());
    }

    public void Step()
    {
        using var scope = torch.NewDisposeScope();
        var context = Model.TextEncoder.forward(_ids);
        var prediction = Model.UNet.forward(_noisy, _timesteps, context);
        var loss = nn.functional.mse_loss(prediction, _noise);
        loss.backward();
        _optimizer.step();
        _optimizer.zero_grad();
    }

    /// <summary>
    /// The per-step work the engine does beyond the bare loop's, timed apart on stand-in gradients (random, so
    /// clipping scales them as it would early in training): gradient clipping, and the engine's AdamW against
    /// TorchSharp's AdamW over the same parameters. Untimed for the main figures; gradients are cleared after.
    /// </summary>
    public (double ClipMs, double EngineAdamMs, double TorchAdamMs) OptimizerParts()
    {
        var parameters = Model.TrainableParameters.Select(p => p.Param).ToList();
        using (torch.no_grad())
            foreach (var p in parameters) p.grad = randn_like(p).mul_(10);
        long t0 = Stopwatch.GetTimestamp();
        GradientClipping.ClipByTotalNorm(parameters, 1.0);
        long t1 = Stopwatch.GetTimestamp();
        _engineOptimizer.Step(1e-4);
        long t2 = Stopwatch.GetTimestamp();
        _optimizer.step();
        long t3 = Stopwatch.GetTimestamp();
        _optimizer.zero_grad();
        foreach (var p in parameters) p.grad = null!;
        return (StepClock.Ms(t0, t1), StepClock.Ms(t1, t2), StepClock.Ms(t2, t3));
    }

    public void Dispose()
    {
        _engineOptimizer.Dispose();
        _optimizer.Dispose();
        Model.Dispose();
        _noisy.Dispose();
        _noise.Dispose();
        _timesteps.Dispose();
        _ids.Dispose();
    }
}

/// <summary>The fp32 matmul ceiling of this machine at the bench's thread count, measured where it is used.</summary>
public static class MatmulCeiling
{
    public static double Measure(int n = 1024, int repeats = 8)
    {
        using var scope = torch.NewDisposeScope();
        var a = randn(n, n);
        var b = randn(n, n);
        a.matmul(b).Dispose();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < repeats; i++) a.matmul(b).Dispose();
        double seconds = StepClock.Ms(start, Stopwatch.GetTimestamp()) / 1000;
        return 2.0 * n * n * n * repeats / seconds / 1e9;
    }
}
