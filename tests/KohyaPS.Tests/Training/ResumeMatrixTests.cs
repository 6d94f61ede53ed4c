using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;

namespace KohyaPS.Tests.Training;

/// <summary>
/// Exact resume across the configuration space: a run interrupted after N/2 steps and continued with
/// <see cref="TrainingRunner.Resume"/> must end with the same bytes, tensor by tensor, in model.safetensors and
/// optimizer.safetensors as the same run trained straight to N — plus the same per-step loss, learning rate,
/// gradient norm and data position, and a state.json whose lineage lists every segment.
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class ResumeMatrixTests : IClassFixture<ResumeMatrixFixture>
{
    private readonly ResumeMatrixFixture _fx;

    public ResumeMatrixTests(ResumeMatrixFixture fixture)
    {
        _fx = fixture;
    }

    // ---- optimizers x LR schedules (each optimizer and each schedule at least once) ----

    [Theory]
    [InlineData("AdamW", "constant")]
    [InlineData("Adam", "constant_with_warmup")]
    [InlineData("SGD", "linear")]
    [InlineData("Lion", "cosine")]
    [InlineData("AdamW", "cosine_with_restarts")]
    [InlineData("SGD", "polynomial")]
    public void OptimizerAndScheduleResumeBitwise(string optimizer, string schedule)
    {
        // Batch 3 over 12 images: 4 batches per epoch, so the interruption after step 2 of 4 is mid-epoch.
        var hp = ResumeMatrixFixture.ReferenceConfig(4, h =>
        {
            h.Data.BatchSize = 3;
            ConfigureOptimizer(h, optimizer);
            ConfigureSchedule(h, schedule);
        });
        string name = $"opt-{optimizer}-{schedule}".ToLowerInvariant();
        var straight = _fx.Straight(name + "-straight", hp, _fx.Square12);
        var split = _fx.Interrupted(name + "-split", hp, _fx.Square12, 2);

        var rates = straight.Steps.Select(s => s.LearningRate / hp.Optimizer.LearningRate).ToList();
        if (schedule == "constant")
            Assert.All(rates, r => Assert.Equal(1.0, r));
        else
            Assert.Equal(0.0, rates[0]); // warm-up: the first update has rate 0
        if (schedule is "linear" or "cosine" or "polynomial")
            Assert.True(rates[1] > rates[2] && rates[2] > rates[3], $"{schedule} should decay: {string.Join(", ", rates)}");
        if (schedule == "cosine_with_restarts")
            Assert.True(rates[2] < rates[3], $"two cycles over 3 steps should restart: {string.Join(", ", rates)}");
        var stop = ResumeMatrixFixture.State(Checkpoint(split, 2));
        Assert.Equal((0, 2), (stop.Epoch, stop.BatchInEpoch));
        AssertSameRun(straight, split);
        AssertLineage(split, 2);
    }

    private static void ConfigureOptimizer(KohyaHyperparameterSet hp, string optimizer)
    {
        var o = hp.Optimizer;
        o.Type = optimizer;
        switch (optimizer)
        {
            case "AdamW":
                o.WeightDecay = 0.05;
                break;
            case "Adam":
                o.WeightDecay = 0.01; // L2, added to the gradient
                o.Beta1 = 0.8;
                break;
            case "SGD":
                o.LearningRate = 0.05;
                o.Momentum = 0.9;
                o.Nesterov = true;
                o.WeightDecay = 1e-4;
                break;
            case "Lion":
                o.LearningRate = 3e-4;
                o.WeightDecay = 0.1;
                o.Beta1 = 0.95;
                o.Beta2 = 0.98;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(optimizer), optimizer, null);
        }
    }

    private static void ConfigureSchedule(KohyaHyperparameterSet hp, string schedule)
    {
        var s = hp.LRSchedule;
        s.Name = schedule;
        // constant has no warm-up (a warm-up is an error there); the others warm up over the first of the 4 steps.
        s.WarmupSteps = schedule == "constant" ? 0 : 1;
        if (schedule == "cosine_with_restarts")
            s.NumCycles = 2;
        if (schedule == "polynomial")
            s.Power = 2;
    }

    // ---- where in the data the interruption falls ----

    [Theory]
    [InlineData(4, true)]  // 3 batches per epoch: step 3 ends epoch 0
    [InlineData(2, false)] // 6 batches per epoch: after step 3, batch 3 of epoch 0 is next
    public void ResumeAtEpochBoundaryOrMidEpoch(int batchSize, bool atBoundary)
    {
        RunOutcome straight;
        RunOutcome split;
        if (batchSize == 4)
        {
            straight = _fx.Reference;
            split = _fx.Interrupted("epoch-boundary", ResumeMatrixFixture.ReferenceConfig(), _fx.Square12, 3);
        }
        else
        {
            var hp = ResumeMatrixFixture.ReferenceConfig(6, h => h.Data.BatchSize = batchSize);
            straight = _fx.Straight("mid-epoch-straight", hp, _fx.Square12);
            split = _fx.Interrupted("mid-epoch-split", hp, _fx.Square12, 3);
        }

        var stop = ResumeMatrixFixture.State(Checkpoint(split, 3));
        Assert.Equal("Stop", stop.Reason);
        if (atBoundary)
            Assert.Equal((1, 0), (stop.Epoch, stop.BatchInEpoch));
        else
            Assert.Equal((0, 3), (stop.Epoch, stop.BatchInEpoch));
        AssertSameRun(straight, split);
        AssertLineage(split, 3);

        if (atBoundary)
        {
            // The reference run's step-3 checkpoint was written on a background thread while step 4 trained;
            // it must hold exactly what the synchronous stop save at step 3 holds.
            string interval = Checkpoint(_fx.Reference, 3);
            Assert.Equal("Interval", ResumeMatrixFixture.State(interval).Reason);
            AssertSameTensors(interval, Checkpoint(split, 3));
        }
    }

    // ---- buckets + caption shuffle (keep_tokens) + flip + caption dropout ----

    [Fact]
    public void BucketsWithCaptionShuffleFlipAndDropoutResumeBitwise()
    {
        var hp = ResumeMatrixFixture.ReferenceConfig(6, h =>
        {
            h.Data.EnableBucket = true;
            h.Data.MinBucketReso = 8;
            h.Data.MaxBucketReso = 32;
            h.Data.BucketResoSteps = 8;
            h.Data.ShuffleCaption = true;
            h.Data.KeepTokens = 1;
            h.Data.FlipAug = true;
            h.Data.CaptionDropoutRate = 0.3;
            h.Saving.AsyncSave = true;
            h.Saving.SaveEveryNSteps = 2;
        });

        // The case is what it claims: four buckets, five batches per epoch (two of them partial), and the
        // augmentations actually fire in the two epochs the run touches.
        var data = TrainingData.Open(_fx.Buckets12, hp, CancellationToken.None);
        Assert.Equal(4, data.Buckets.Buckets.Count);
        Assert.Equal(5, data.BatchesPerEpoch(0));
        var samples = Enumerable.Range(0, 2)
            .SelectMany(e => DataOrder.Epoch(data.Index, data.Buckets, data.BatchSize, hp.Training.Seed, e))
            .SelectMany(plan => BatchBuilder.Describe(plan, data.Index, hp.Training.Seed).Select(s => (s, data.Index[s.EntryIndex].Caption)))
            .ToList();
        Assert.Contains(samples, x => x.s.Flipped);
        Assert.Contains(samples, x => x.s.CaptionDropped);
        Assert.Contains(samples, x => !x.s.CaptionDropped && x.s.Caption != x.Caption);
        Assert.All(samples.Where(x => !x.s.CaptionDropped), x => Assert.StartsWith("item, ", x.s.Caption));

        var straight = _fx.Straight("buckets-straight", hp, _fx.Buckets12);
        var split = _fx.Interrupted("buckets-split", hp, _fx.Buckets12, 3);

        Assert.Contains(straight.Steps, s => s.Samples < 4);
        var stop = ResumeMatrixFixture.State(Checkpoint(split, 3));
        Assert.Equal((0, 3), (stop.Epoch, stop.BatchInEpoch)); // mid-epoch; the resumed segment crosses into epoch 1
        Assert.Equal(1, split.Steps[^1].Epoch);
        AssertSameRun(straight, split);
        AssertLineage(split, 3);
        // Async interval saves at 2 and 4, the stop save at 3, the final save at 6.
        Assert.Equal(new long[] { 2, 3, 4, 6 }, CheckpointStore.List(split.RunPath).Where(c => c.IsComplete).Select(c => c.Step));
    }

    // ---- gradient accumulation, with steps whose micro-batches straddle an epoch boundary ----

    [Fact]
    public void GradientAccumulationAcrossEpochBoundariesResumesBitwise()
    {
        // 3 batches per epoch, 2 micro-batches per step: step 2 takes (e0 b2, e1 b0) and step 5 (e2 b2, e3 b0);
        // the interruption (Ctrl+C: the run's token is cancelled) after step 3 lands exactly on the start of epoch 2.
        var hp = ResumeMatrixFixture.ReferenceConfig(6, h => h.Data.GradientAccumulationSteps = 2);
        var straight = _fx.Straight("accumulation-straight", hp, _fx.Square12);
        var split = _fx.Interrupted("accumulation-split", hp, _fx.Square12, ctrlC: true, 3);

        var straddling = new List<long>();
        (int Epoch, int Batch) before = (0, 0);
        foreach (var s in straight.Steps)
        {
            if (s.Epoch > before.Epoch && s.BatchInEpoch > 0)
                straddling.Add(s.Step);
            before = (s.Epoch, s.BatchInEpoch);
        }
        Assert.Equal(new long[] { 2, 5 }, straddling);
        var stop = ResumeMatrixFixture.State(Checkpoint(split, 3));
        Assert.Equal((2, 0, 6L), (stop.Epoch, stop.BatchInEpoch, stop.MicroBatches));
        AssertSameRun(straight, split);
        AssertLineage(split, 3);
    }

    // ---- objective options ----

    [Fact]
    public void VPredictionWithMinSnrAndNoiseOffsetResumesBitwise()
    {
        var hp = ResumeMatrixFixture.ReferenceConfig(4, h =>
        {
            h.Diffusion.PredictionType = "v_prediction";
            h.Diffusion.MinSnrGamma = 5;
            h.Diffusion.NoiseOffset = 0.1;
        });
        var straight = _fx.Straight("objective-straight", hp, _fx.Square12);
        var split = _fx.Interrupted("objective-split", hp, _fx.Square12, 2);
        AssertSameRun(straight, split);
        AssertLineage(split, 2);
    }

    // ---- several resumes, resume by AdditionalSteps, resume from an async interval checkpoint ----

    [Fact]
    public void ResumedTwiceEqualsStraightAndLineageListsEverySegment()
    {
        var split = _fx.Interrupted("twice", ResumeMatrixFixture.ReferenceConfig(), _fx.Square12, 2, 4);
        AssertSameRun(_fx.Reference, split);
        AssertLineage(split, 2, 4);
        Assert.All(split.FinalState.Segments, s => Assert.Empty(s.Overrides));
        Assert.Equal(new long[] { 2, 4, 6 }, CheckpointStore.List(split.RunPath).Where(c => c.IsComplete).Select(c => c.Step));
    }

    [Fact]
    public void ResumeCancelledBeforeItsFirstStepLeavesItsCheckpointAlone()
    {
        // Ctrl+C while a resume is still starting: no step is trained, so there is nothing new to save. The checkpoint
        // the resume started from must stay where it is, untouched, and the run must still end exactly.
        // Fails with the engine as of 7eee433: CheckpointHook starts each segment with _lastSavedStep = -1, so OnRunEnded
        // saves step 3 again ("Stop"), renaming the original aside to '<name>.superseded-<utc>' (invisible to
        // CheckpointStore.List and retention) and recording a zero-step segment whose checkpoint's parent is that hidden one.
        string path = Path.Combine(_fx.Root, "cancelled-at-start");
        var recorder = new StepRecorder();
        var first = TrainingRunner.Run(new TrainingRequest
        {
            Hyperparameters = ResumeMatrixFixture.ReferenceConfig(),
            DatasetPath = _fx.Square12,
            OutputPath = path,
            ExtraHooks = [recorder, new StopAtStep(3)],
        }, NullTrainingObserver.Instance, CancellationToken.None);
        string checkpoint = first.LatestCheckpoint!;
        string before = ResumeMatrixFixture.State(checkpoint).CheckpointId;

        using (var ctrlC = new CancellationTokenSource())
        {
            var idle = ResumeMatrixFixture.Resume(new ResumeRequest { RunPath = path, ExtraHooks = [recorder, new StopAtStep(0, ctrlC)] }, ctrlC.Token);
            Assert.Equal("Stopped", idle.Status);
            Assert.Equal(3, idle.FinalStep);
        }
        var folders = Directory.EnumerateDirectories(CheckpointNames.CheckpointsDirectory(path)).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(new[] { Path.GetFileName(checkpoint) }, folders);
        Assert.Equal(before, ResumeMatrixFixture.State(checkpoint).CheckpointId);

        var last = ResumeMatrixFixture.Resume(new ResumeRequest { RunPath = path, ExtraHooks = [recorder] });
        var split = new RunOutcome(path, last, recorder.Steps);
        AssertSameRun(_fx.Reference, split);
        AssertLineage(split, 3);
    }

    [Theory]
    [InlineData(false)] // interrupted after 3 of 6 steps, continued with AdditionalSteps = 3 (same target)
    [InlineData(true)]  // finished a 3-step run, extended by AdditionalSteps = 3 (constant_with_warmup does not depend on the length)
    public void ResumeByAdditionalStepsEqualsStraight(bool extend)
    {
        string run = extend ? "additional-extend" : "additional-stopped";
        string path = Path.Combine(_fx.Root, run);
        var recorder = new StepRecorder();
        var hp = ResumeMatrixFixture.ReferenceConfig(extend ? 3 : 6);
        var first = TrainingRunner.Run(new TrainingRequest
        {
            Hyperparameters = hp,
            DatasetPath = _fx.Square12,
            OutputPath = path,
            ExtraHooks = extend ? [recorder] : [recorder, new StopAtStep(3)],
        }, NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(extend ? "Completed" : "Stopped", first.Status);
        Assert.Equal(3, first.FinalStep);

        var resumed = ResumeMatrixFixture.Resume(new ResumeRequest { RunPath = path, AdditionalSteps = 3, ExtraHooks = [recorder] });
        Assert.Equal("Completed", resumed.Status);
        Assert.Equal(3, resumed.StartStep);
        Assert.Equal(6, resumed.FinalStep);
        var split = new RunOutcome(path, resumed, recorder.Steps);

        AssertSameRun(_fx.Reference, split);
        AssertLineage(split, 3);
        var segments = split.FinalState.Segments;
        Assert.Empty(segments[0].Overrides);
        if (extend)
            Assert.Equal(new[] { "Training.MaxSteps: 3 -> 6" }, segments[1].Overrides);
        else
            Assert.Empty(segments[1].Overrides);
    }

    [Fact]
    public void ResumeFromAsyncIntervalCheckpointEqualsStraight()
    {
        // As if the reference run had died during step 4: only its asynchronously written step-3 checkpoint survives.
        string source = Checkpoint(_fx.Reference, 3);
        var saved = ResumeMatrixFixture.State(source);
        Assert.Equal("Interval", saved.Reason);
        string path = Path.Combine(_fx.Root, "from-async-interval");
        string copy = Path.Combine(CheckpointNames.CheckpointsDirectory(path), Path.GetFileName(source));
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.EnumerateFiles(source))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));

        var recorder = new StepRecorder();
        var resumed = ResumeMatrixFixture.Resume(new ResumeRequest { RunPath = path, ExtraHooks = [recorder] });
        Assert.Equal(6, resumed.FinalStep);
        var reference = _fx.Reference;
        AssertSameSteps(reference.Steps.Skip(3).ToList(), recorder.Steps);
        AssertSameCheckpoint(reference.FinalCheckpoint, resumed.LatestCheckpoint!);

        var final = ResumeMatrixFixture.State(resumed.LatestCheckpoint!);
        Assert.Equal(saved.RunId, final.RunId);
        Assert.Equal(saved.CheckpointId, final.ParentCheckpointId);
        Assert.Equal(2, final.Segments.Count);
        Assert.Equal(saved.Segments[0].SegmentId, final.Segments[0].SegmentId);
        Assert.Equal((3L, Path.GetFileName(source)), (final.Segments[1].StartStep, final.Segments[1].ResumedFrom));
    }

    // ---- assertions ----

    private static string Checkpoint(RunOutcome run, long step)
    {
        string path = Path.Combine(CheckpointNames.CheckpointsDirectory(run.RunPath), CheckpointNames.For(Path.GetFileName(run.RunPath), step));
        Assert.True(Directory.Exists(path), $"no checkpoint at step {step} in {run.RunPath}");
        return path;
    }

    /// <summary>Same trace step by step, same final tensors (bitwise), same optimizer scalars, same data position.</summary>
    private static void AssertSameRun(RunOutcome straight, RunOutcome split)
    {
        AssertSameSteps(straight.Steps, split.Steps);
        AssertSameCheckpoint(straight.FinalCheckpoint, split.FinalCheckpoint);
        // The resumed run's train.jsonl continues the interrupted one: every step once, with the straight run's numbers.
        Assert.Equal(LogRecords(straight.Final.LogPath), LogRecords(split.Final.LogPath));
    }

    private static List<string> LogRecords(string log) => File.ReadAllLines(log).Select(line =>
    {
        using var doc = System.Text.Json.JsonDocument.Parse(line);
        var r = doc.RootElement;
        return string.Join(" ", new[] { "step", "epoch", "loss", "lr", "grad_norm" }.Select(k => $"{k}={r.GetProperty(k).GetRawText()}"));
    }).ToList();

    private static void AssertSameSteps(IReadOnlyList<StepRecord> expected, IReadOnlyList<StepRecord> actual)
    {
        Assert.Equal(expected.Select(s => s.Step), actual.Select(s => s.Step));
        for (int i = 0; i < expected.Count; i++)
        {
            if (!expected[i].Equals(actual[i]))
                Assert.Fail($"step {expected[i].Step} differs:\n  straight {expected[i]}\n  resumed  {actual[i]}");
        }
    }

    private static void AssertSameCheckpoint(string expected, string actual)
    {
        AssertSameTensors(expected, actual);

        using (var e = SafetensorsFile.Open(Path.Combine(expected, CheckpointNames.OptimizerFile)))
        using (var a = SafetensorsFile.Open(Path.Combine(actual, CheckpointNames.OptimizerFile)))
        {
            var scalars = (SafetensorsFile f) => f.Metadata.Where(kv => kv.Key.StartsWith("kohyaps.optimizer.", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
            Assert.Equal(scalars(e), scalars(a));
        }

        var se = ResumeMatrixFixture.State(expected);
        var sa = ResumeMatrixFixture.State(actual);
        Assert.Equal((se.GlobalStep, se.Epoch, se.BatchInEpoch, se.MicroBatches, se.SamplesSeen, se.Seed, se.Threads),
            (sa.GlobalStep, sa.Epoch, sa.BatchInEpoch, sa.MicroBatches, sa.SamplesSeen, sa.Seed, sa.Threads));
        Assert.Equal(se.LastLearningRate, sa.LastLearningRate);
        Assert.Equal(se.Tokenizer.Vocabulary, sa.Tokenizer.Vocabulary);
    }

    private static void AssertSameTensors(string expected, string actual)
    {
        foreach (var file in new[] { CheckpointNames.ModelFile, CheckpointNames.OptimizerFile })
        {
            var e = TrainingTestSupport.TensorBytes(Path.Combine(expected, file));
            var a = TrainingTestSupport.TensorBytes(Path.Combine(actual, file));
            Assert.NotEmpty(e);
            Assert.Equal(e.Keys.Order(StringComparer.Ordinal), a.Keys.Order(StringComparer.Ordinal));
            var differing = e.Where(kv => !kv.Value.AsSpan().SequenceEqual(a[kv.Key])).Select(kv => kv.Key).ToList();
            Assert.True(differing.Count == 0, $"{file}: {differing.Count} of {e.Count} tensors differ, e.g. {string.Join(", ", differing.Take(3))}");
        }
    }

    /// <summary>The final state.json lists the fresh segment and one per resume, each starting where the previous stopped.</summary>
    private static void AssertLineage(RunOutcome run, params long[] resumedAt)
    {
        string runName = Path.GetFileName(run.RunPath);
        var state = run.FinalState;
        var segments = state.Segments;
        Assert.Equal(resumedAt.Length + 1, segments.Count);
        Assert.Equal(0, segments[0].StartStep);
        Assert.Null(segments[0].ResumedFrom);
        for (int i = 1; i < segments.Count; i++)
        {
            Assert.Equal(resumedAt[i - 1], segments[i].StartStep);
            Assert.Equal(CheckpointNames.For(runName, resumedAt[i - 1]), segments[i].ResumedFrom);
            Assert.True(segments[i].StartedUtc >= segments[i - 1].StartedUtc);
            Assert.Empty(segments[i].Warnings);
        }
        Assert.Equal(segments.Count, segments.Select(s => s.SegmentId).Distinct().Count());
        Assert.All(segments, s => Assert.False(string.IsNullOrEmpty(s.SegmentId)));
        Assert.Equal(run.Final.FinalStep, state.GlobalStep);
        Assert.Equal(runName, state.RunName);

        // Every checkpoint of the run names its predecessor as parent and lists the segments up to its own.
        var checkpoints = CheckpointStore.List(run.RunPath).Where(c => c.IsComplete && !c.IsQuarantined)
            .Select(c => ResumeMatrixFixture.State(c.Path)).OrderBy(c => c.GlobalStep).ToList();
        Assert.Equal(state.CheckpointId, checkpoints[^1].CheckpointId);
        Assert.Null(checkpoints[0].ParentCheckpointId);
        for (int i = 0; i < checkpoints.Count; i++)
        {
            var c = checkpoints[i];
            if (i > 0)
                Assert.Equal(checkpoints[i - 1].CheckpointId, c.ParentCheckpointId);
            Assert.Equal(state.RunId, c.RunId);
            int ownSegments = 1 + resumedAt.Count(r => r < c.GlobalStep);
            Assert.Equal(segments.Take(ownSegments).Select(s => s.SegmentId), c.Segments.Select(s => s.SegmentId));
        }
    }
}
