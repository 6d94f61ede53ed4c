using System.Text.Json;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Diffusion;
using KohyaPS.Engine.Monitoring;
using KohyaPS.Engine.Monitoring.Guards;
using KohyaPS.Engine.Monitoring.Validation;
using KohyaPS.Engine.Native;
using KohyaPS.Engine.Optim;
using TorchSharp;

namespace KohyaPS.Engine.Training;

/// <summary>
/// Assembles one segment of a run — model, optimizer, schedule, objective, data, hooks — and runs it.
/// Fresh starts and resumes differ only in where the weights, optimizer state, tokenizer and position
/// come from; everything else is built here, once.
/// </summary>
internal sealed class TrainingSession : IDisposable
{
    private readonly TrainingContext _context;
    private readonly List<ITrainingHook> _hooks;
    private readonly LossLogHook _log;
    private readonly CheckpointHook _checkpoints;
    private readonly RollbackExecutor _rollback;

    /// <summary>The built-in hooks holding files open; disposed even when the run throws (a full disk, a refused save).</summary>
    private readonly List<IDisposable> _owned;
    private readonly List<KohyaTrainingEvent> _events = new();

    public TrainingSession(RunIdentity identity, KohyaHyperparameterSet hp, TrainingData data, TrainingModel model,
        TrainingState state, RunLineage lineage, ITrainingObserver observer, IReadOnlyList<ITrainingHook> extraHooks,
        CheckpointWriter? writer = null, long rewarmSteps = 0, MonitorState? monitors = null, FaultInjection? faults = null)
    {
        var optimizer = OptimizerFactory.Create(OptimizerSettingsFrom(hp.Optimizer), model.TrainableParameters);
        var schedule = new NoiseSchedule(hp.Diffusion.BetaSchedule, hp.Diffusion.BetaStart, hp.Diffusion.BetaEnd, hp.Diffusion.NumTrainTimesteps);
        var objective = new DiffusionLoss(schedule, DiffusionLoss.ParsePrediction(hp.Diffusion.PredictionType), hp.Diffusion.NoiseOffset, hp.Diffusion.MinSnrGamma);
        var lr = new LearningRatePlan(hp, rewarmSteps, state.GlobalStep);
        _context = new TrainingContext(identity, hp, state, model, optimizer, lr, data, objective, observer, monitors?.Clone(), faults ?? FaultInjection.FromEnvironment());
        _context.EventRaised += _events.Add;
        _log = new LossLogHook(identity.RunDirectory);
        _checkpoints = new CheckpointHook(identity.RunDirectory, hp.Saving, lineage, data.DescribeJson, EnvironmentJson(), writer);
        _rollback = new RollbackExecutor(_context, _checkpoints, lineage);
        // Logs first; guards and validation before the checkpoint hook, so a save they ask for happens at this step;
        // the segment log last, so its end line follows the final save.
        _hooks = new List<ITrainingHook>
        {
            _log, new MetricLogHook(identity.RunDirectory), new EventLogHook(identity.RunDirectory),
            new Monitoring.TensorBoard.TensorBoardHook(identity.RunDirectory), new ProgressHook(observer), new LossGuardHook(),
        };
        if (data.Validation is { } validation)
            _hooks.Add(new ValidationHook(validation));
        _hooks.Add(_checkpoints);
        _hooks.Add(new StopRequestHook(identity.RunDirectory));
        _hooks.Add(new Sampling.SamplingHook(hp));
        _hooks.Add(new SegmentLogHook(identity.RunDirectory));
        _owned = _hooks.OfType<IDisposable>().ToList();
        _hooks.AddRange(extraHooks);
    }

    public TrainingContext Context => _context;

    /// <summary>Runs the segment to its target or a stop and describes what happened.</summary>
    public KohyaTrainingResult Run(CancellationToken cancellation, IReadOnlyList<string> warnings)
    {
        long startStep = _context.State.GlobalStep;
        if (_context.Hyperparameters.Data.CacheLatents && _context.Model.Vae is not null)
        {
            try
            {
                _context.Inputs = new ModelInputs(_context.Data, _context.Model,
                    LatentCaching.Open(_context.Identity, _context.Hyperparameters, _context.Data, _context.Model, _context.Observer, cancellation));
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                // Ctrl+C while the cache fills: the entries written so far stay; the trainer sees the cancellation
                // before its first step and stops (and saves) the way it always does.
            }
        }
        var losses = new LossWindow();
        _hooks.Add(losses);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string status = new Trainer(_context, _hooks, _rollback.Execute).Run(cancellation, out string? reason);
        clock.Stop();
        var allWarnings = warnings.ToList();
        if (reason is not null && reason != "cancelled")
        {
            allWarnings.Add($"Training stopped: {reason}.");
            _context.Observer.Warning(allWarnings[^1]);
        }
        long done = _context.State.GlobalStep - startStep;
        return new KohyaTrainingResult
        {
            RunName = _context.RunName,
            OutputPath = _context.RunDirectory,
            StartStep = startStep,
            FinalStep = _context.State.GlobalStep,
            TargetStep = _context.TargetStep,
            FinalEpoch = _context.State.Epoch,
            InitialLoss = losses.First,
            FinalLoss = losses.Last,
            Duration = clock.Elapsed,
            StepsPerSecond = clock.Elapsed.TotalSeconds > 0 ? done / clock.Elapsed.TotalSeconds : 0,
            Status = status,
            LogPath = _log.LogPath,
            LatestCheckpoint = _checkpoints.LatestCheckpoint,
            Warnings = allWarnings,
            Events = _events.ToList(),
            Rollbacks = _context.Monitors.Rollbacks,
            LearningRateScale = _context.Monitors.LearningRateScale,
            BestValidationLoss = _context.Monitors.BestValidationLoss,
            BestValidationStep = _context.Monitors.BestValidationStep,
            StopReason = reason,
        };
    }

    /// <summary>Threads for libtorch: the configured count, or every logical processor.</summary>
    public static int ApplyThreads(int requested)
    {
        int threads = requested > 0 ? requested : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        return threads;
    }

    public static torch.Device DeviceFor(KohyaHyperparameterSet hp)
    {
        string name = hp.Resources.Device.ToLowerInvariant();
        if (name.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
            throw new KohyaException("DeviceUnavailable", KohyaErrorKind.ResourceUnavailable,
                $"Resources.Device is '{hp.Resources.Device}' but CUDA is not available in this build or on this machine.", target: "Resources.Device")
            {
                RecommendedAction = "Use Resources.Device cpu here, or the CUDA build (build.ps1 Build -Backend Cuda) on a GPU box.",
            };
        return torch.device(name);
    }

    internal static OptimizerSettings OptimizerSettingsFrom(OptimizerSection o)
    {
        string type = o.Type;
        bool adam = type.Equals(OptimizerFactory.AdamW, StringComparison.OrdinalIgnoreCase) || type.Equals(OptimizerFactory.Adam, StringComparison.OrdinalIgnoreCase);
        bool sgd = type.Equals(OptimizerFactory.Sgd, StringComparison.OrdinalIgnoreCase);
        var settings = new OptimizerSettings
        {
            Type = type,
            Betas = sgd || (o.Beta1 is null && o.Beta2 is null) ? null : (o.Beta1 ?? 0.9, o.Beta2 ?? (type.Equals(OptimizerFactory.Lion, StringComparison.OrdinalIgnoreCase) ? 0.99 : 0.999)),
            Eps = adam ? o.Epsilon : 1e-8,
            WeightDecay = o.WeightDecay,
            // Passed through as given: the optimizer refuses options that do not apply to its type.
            Momentum = o.Momentum,
            Nesterov = o.Nesterov,
        };
        settings.Validate();
        return settings;
    }

    private static string EnvironmentJson()
    {
        var env = EnvironmentProbe.Describe();
        return JsonSerializer.Serialize(env, new JsonSerializerOptions { WriteIndented = true });
    }

    public void Dispose()
    {
        foreach (var hook in _owned)
            hook.Dispose();
        _context.Optimizer.Dispose();
    }

    /// <summary>Mean loss of the first and last few steps of the segment.</summary>
    private sealed class LossWindow : ITrainingHook
    {
        private const int Size = 10;
        private readonly List<double> _first = new();
        private readonly Queue<double> _last = new();

        public double First => _first.Count > 0 ? _first.Average() : double.NaN;
        public double Last => _last.Count > 0 ? _last.Average() : double.NaN;

        public void OnStepEnded(TrainingContext context, StepReport report)
        {
            if (!double.IsFinite(report.Loss))
                return;
            if (_first.Count < Size) _first.Add(report.Loss);
            _last.Enqueue(report.Loss);
            if (_last.Count > Size) _last.Dequeue();
        }
    }
}
