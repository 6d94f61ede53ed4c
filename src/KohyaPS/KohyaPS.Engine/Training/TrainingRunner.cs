using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Datasets;
using KohyaPS.Engine.Hyperparameters;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Native;
using TorchSharp;

namespace KohyaPS.Engine.Training;

/// <summary>
/// The engine's front door for training: validates, locks the run folder, prepares data and model, and
/// runs a segment — a fresh start (<see cref="Run"/>) or a continuation (<see cref="Resume"/>).
/// </summary>
public static class TrainingRunner
{
    public const string DemoFolder = "dataset";

    public static KohyaTrainingResult Run(TrainingRequest request, ITrainingObserver observer, CancellationToken cancellation)
    {
        var hp = request.Hyperparameters.Clone();
        HyperparameterValidator.Validate(hp);
        TorchRuntime.EnsureLoaded();
        string run = Path.GetFullPath(request.OutputPath);
        using var runLock = RunLock.Acquire(run);
        ReportTakeover(runLock, observer);
        CleanTemporary(run, observer);
        if (CheckpointStore.List(run).Any(c => c.IsComplete && !c.IsQuarantined))
            throw new KohyaException("RunHasCheckpoints", KohyaErrorKind.InvalidOperation,
                $"'{run}' already holds checkpoints of a run; a fresh start there would mix two runs.", target: run)
            {
                RecommendedAction = "Continue it with Resume-KohyaTraining -Path <run> -Latest, or choose another -OutputPath.",
            };

        foreach (var w in HyperparameterValidator.DormantSettings(hp)) observer.Warning(w);
        string datasetPath = request.DatasetPath ?? EnsureDemoDataset(run, hp, request.Demo, observer);
        var data = TrainingData.Open(datasetPath, hp, cancellation);
        foreach (var w in data.Index.Warnings) observer.Warning(w);
        var threads = TrainingSession.ApplyThreads(hp.Resources.Threads);
        observer.Verbose($"Training {hp.Model.Preset} on {data.Index.Count} images ({data.BatchesPerEpoch(0)} batches per epoch), {threads} threads.");
        using var model = BuildModel(hp, CaptionTokenizers.ForNewRun(hp.Model, data.Captions), TrainingSession.DeviceFor(hp));
        var warnings = StartingWeights(model, request.NetworkWeightsPath, observer);
        var identity = new RunIdentity(Path.GetFileName(run), run, Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"), DateTime.UtcNow);
        var segment = new SegmentRecord { SegmentId = identity.SegmentId, StartedUtc = identity.SegmentStartedUtc, StartStep = 0, Warnings = warnings.ToList() };
        var lineage = new RunLineage(identity.RunId, Array.Empty<SegmentRecord>(), segment, null);
        using var session = new TrainingSession(identity, hp, data, model, new TrainingState(), lineage, observer, request.ExtraHooks, request.CheckpointWriter,
            faults: request.Faults);
        return session.Run(cancellation, warnings);
    }

    public static KohyaTrainingResult Resume(ResumeRequest request, ITrainingObserver observer, CancellationToken cancellation)
    {
        TorchRuntime.EnsureLoaded();
        string run = Path.GetFullPath(request.RunPath ?? RunOf(request.CheckpointPath
            ?? throw new ArgumentException("Give a run folder or a checkpoint folder.", nameof(request))));
        if (!Directory.Exists(run))
            throw new KohyaException("RunNotFound", KohyaErrorKind.ObjectNotFound, $"Run folder '{run}' does not exist.", target: run);
        using var runLock = RunLock.Acquire(run);
        ReportTakeover(runLock, observer);
        CleanTemporary(run, observer);
        var warnings = new List<string>();
        void Warn(string message) { warnings.Add(message); observer.Warning(message); }

        string checkpoint = request.CheckpointPath is { } explicitPath ? VerifiedExplicit(Path.GetFullPath(explicitPath)) : LatestOrThrow(run, Warn, cancellation);
        var saved = ResumePoint.Load(checkpoint);
        var decision = ResumePolicy.Decide(saved.Hyperparameters, saved.State.GlobalStep, request);
        var hp = decision.Effective;
        var overrides = decision.Records.ToList();
        foreach (var w in decision.Warnings.Concat(HyperparameterValidator.DormantSettings(hp))) Warn(w);
        foreach (var change in decision.Records) observer.Verbose("Resuming with " + change);
        long target = hp.Training.MaxSteps;
        if (saved.State.GlobalStep >= target)
            return AlreadyComplete(run, saved, target, warnings);

        string datasetPath = request.DatasetPath ?? saved.DatasetSource(run);
        var data = TrainingData.Open(datasetPath, hp, cancellation);
        var position = saved.TrainingState();
        DatasetContinuity.Reconcile(saved.DatasetManifest, data, position, Path.GetFileName(checkpoint),
            new DatasetChangePolicy(request.Force, request.AcceptDatasetChanges), Warn, observer.Verbose, overrides);
        int threads = TrainingSession.ApplyThreads(decision.ThreadsChanged ? hp.Resources.Threads : ResumeThreads(saved.State.Threads, Warn));
        var device = TrainingSession.DeviceFor(hp);
        foreach (var w in ContinuityWarnings(saved, threads)) Warn(w);

        using var model = BuildModel(hp, saved.Tokenizer(hp.Model), device);
        model.EnsureSameBase(saved.ReadModelMetadata(), saved.ModelPath);
        saved.LoadWeightsInto(model);
        var identity = new RunIdentity(saved.State.RunName, run, saved.State.RunId, Guid.NewGuid().ToString("N"), DateTime.UtcNow);
        var segment = new SegmentRecord
        {
            SegmentId = identity.SegmentId,
            StartedUtc = identity.SegmentStartedUtc,
            StartStep = saved.State.GlobalStep,
            ResumedFrom = Path.GetFileName(checkpoint),
            Overrides = overrides,
            Warnings = warnings.ToList(),
        };
        var lineage = new RunLineage(saved.State.RunId, saved.State.Segments, segment, saved.State.CheckpointId);
        using var session = new TrainingSession(identity, hp, data, model, position, lineage, observer, request.ExtraHooks, request.CheckpointWriter,
            monitors: saved.State.Monitors, faults: request.Faults);
        if (!decision.ResetOptimizer)
            using (var optimizerState = saved.ReadOptimizer())
                session.Context.Optimizer.ImportState(optimizerState);
        observer.Verbose($"Resuming '{identity.RunName}' from {Path.GetFileName(checkpoint)} at step {saved.State.GlobalStep} towards {target}.");
        return session.Run(cancellation, warnings);
    }

    /// <summary>Loads a kohya LoRA file into a LoRA model's adapters (-NetworkWeights) and states what that means.</summary>
    private static IReadOnlyList<string> StartingWeights(TrainingModel model, string? networkWeights, ITrainingObserver observer)
    {
        if (networkWeights is null)
            return Array.Empty<string>();
        if (model.Lora is null)
            throw new KohyaException("NetworkWeightsNeedLora", KohyaErrorKind.InvalidArgument,
                "LoRA weights were given to start from, but Network.Type is none (the model's own weights are trained).", target: "Network.Type")
            {
                RecommendedAction = "Set Network.Type to lora (Invoke-KohyaTraining -Network LoRA) with the file's dim and alpha.",
            };
        var warnings = Networks.LoraWeightsImport.Load(model.Lora, networkWeights, model.StateTensors());
        model.Precision?.Weights.CopyToCompute();
        foreach (var w in warnings) observer.Warning(w);
        return warnings;
    }

    private static string RunOf(string checkpointPath) =>
        Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!)!;

    private static string VerifiedExplicit(string checkpoint)
    {
        if (!Directory.Exists(checkpoint))
            throw new KohyaException("CheckpointNotFound", KohyaErrorKind.ObjectNotFound, $"Checkpoint folder '{checkpoint}' does not exist.", target: checkpoint);
        var check = CheckpointStore.Verify(checkpoint);
        if (!check.IsValid)
            throw new KohyaException("CheckpointInvalid", KohyaErrorKind.InvalidData,
                $"Checkpoint '{checkpoint}' cannot be resumed from: {string.Join("; ", check.Problems)}.", target: checkpoint)
            {
                RecommendedAction = "Resume from the run folder with -Latest to fall back to the newest good checkpoint.",
            };
        return checkpoint;
    }

    private static string LatestOrThrow(string run, Action<string> warn, CancellationToken cancellation)
    {
        return CheckpointStore.LatestGood(run, warn, cancellation)
            ?? throw new KohyaException("NothingToResume", KohyaErrorKind.ObjectNotFound,
                $"'{run}' holds no complete, verified checkpoint to resume from.", target: run)
            {
                RecommendedAction = "Start the run with Invoke-KohyaTraining, or check the folder with Get-KohyaCheckpoint -All.",
            };
    }

    private static KohyaTrainingResult AlreadyComplete(string run, ResumePoint saved, long target, IReadOnlyList<string> warnings) => new()
    {
        RunName = saved.State.RunName,
        OutputPath = run,
        StartStep = saved.State.GlobalStep,
        FinalStep = saved.State.GlobalStep,
        TargetStep = target,
        FinalEpoch = saved.State.Epoch,
        InitialLoss = saved.State.SmoothedLoss ?? double.NaN,
        FinalLoss = saved.State.SmoothedLoss ?? double.NaN,
        Status = "AlreadyComplete",
        LogPath = Path.Combine(run, "logs", "train.jsonl"),
        LatestCheckpoint = saved.Path,
        Warnings = warnings,
    };

    private static int ResumeThreads(int recorded, Action<string> warn)
    {
        if (recorded <= 0)
            return 0;
        if (recorded > Environment.ProcessorCount)
            warn($"The checkpoint was trained with {recorded} threads; this machine has {Environment.ProcessorCount}. Continuing with the same count (oversubscribed) to keep the arithmetic identical.");
        return recorded;
    }

    private static IEnumerable<string> ContinuityWarnings(ResumePoint saved, int threads)
    {
        if (saved.State.Threads > 0 && saved.State.Threads != threads)
            yield return $"Thread count differs ({saved.State.Threads} in the checkpoint, {threads} now): bitwise continuity is not guaranteed.";
        var env = saved.Environment;
        if (env is not null && env.TorchSharpVersion.Length > 0 && env.TorchSharpVersion != EnvironmentProbe.TorchSharpVersion)
            yield return $"TorchSharp differs ({env.TorchSharpVersion} in the checkpoint): bitwise continuity is not guaranteed.";
    }

    private static string EnsureDemoDataset(string run, KohyaHyperparameterSet hp, bool demo, ITrainingObserver observer)
    {
        if (!demo)
            throw new KohyaException("DatasetNotSpecified", KohyaErrorKind.InvalidArgument, "No dataset: give a dataset path or use the demo.");
        string path = Path.Combine(run, DemoFolder);
        if (!Directory.Exists(path))
        {
            var summary = DemoDatasetGenerator.Generate(path, count: 64, seed: 42, size: hp.Data.Resolution);
            observer.Verbose($"Created the demo dataset in '{path}' ({summary.Count} images).");
        }
        return path;
    }

    /// <summary>The model a segment trains: sizes checked first, then built (seeded or from Model.Path) in Resources.Dtype.</summary>
    private static TrainingModel BuildModel(KohyaHyperparameterSet hp, ICaptionTokenizer tokenizer, torch.Device device)
    {
        CheckImageSizes(hp, tokenizer);
        var model = TrainingModel.Create(hp.Model, tokenizer, hp.Training.Seed, device, hp.Network, hp.Resources.Dtype);
        model.UNet.GradientCheckpointing = hp.Resources.GradientCheckpointing;
        return model;
    }

    /// <summary>
    /// Image sides (the resolution, and bucket steps when bucketing) must divide by what the model divides them by;
    /// checked from the shapes alone, before any weight is built or loaded.
    /// </summary>
    private static void CheckImageSizes(KohyaHyperparameterSet hp, ICaptionTokenizer tokenizer)
    {
        int multiple = ModelBlueprint.For(hp.Model, tokenizer.VocabularySize, tokenizer.MaxLength).SizeMultiple;
        void Check(int side, string option)
        {
            if (side % multiple != 0)
                throw new KohyaException("ResolutionNotDivisible", KohyaErrorKind.InvalidArgument,
                    $"{option} is {side}, but the '{hp.Model.Preset}' model needs image sides that are multiples of {multiple}.", target: option)
                {
                    RecommendedAction = $"Use a multiple of {multiple}.",
                };
        }
        Check(hp.Data.Resolution, "Data.Resolution");
        if (hp.Data.EnableBucket)
            Check(hp.Data.BucketResoSteps, "Data.BucketResoSteps");
    }

    private static void ReportTakeover(RunLock runLock, ITrainingObserver observer)
    {
        if (runLock.TakenOverFrom is { } previous)
            observer.Warning($"Took over a stale run lock left by {previous} (that process is gone).");
    }

    private static void CleanTemporary(string run, ITrainingObserver observer)
    {
        foreach (var removed in CheckpointStore.CleanupTemporary(run))
            observer.Verbose($"Removed '{Path.GetFileName(removed)}', left by a save that was interrupted.");
    }
}
