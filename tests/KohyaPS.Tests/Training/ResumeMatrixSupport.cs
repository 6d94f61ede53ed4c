using System.Text;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Data;
using KohyaPS.Engine.Training;

namespace KohyaPS.Tests.Training;

/// <summary>Small DreamBooth folders (one subset, 1 repeat) of images of any sizes, with comma-separated tag captions.</summary>
internal static class ResumeMatrixData
{
    private static readonly (string Name, byte R, byte G, byte B)[] Colors =
    {
        ("red", 220, 40, 40), ("green", 40, 170, 60), ("blue", 40, 80, 220), ("yellow", 240, 210, 40),
        ("purple", 140, 60, 180), ("white", 245, 245, 245), ("black", 20, 20, 20),
    };

    /// <summary>Writes <c>&lt;root&gt;/&lt;name&gt;/1_items/NNNN.png</c> and <c>.txt</c>, one per size; returns the dataset folder.</summary>
    public static string Write(string root, string name, IReadOnlyList<(int Width, int Height)> sizes)
    {
        string path = Path.Combine(root, name);
        string dir = Path.Combine(path, "1_items");
        Directory.CreateDirectory(dir);
        for (int i = 0; i < sizes.Count; i++)
        {
            var (w, h) = sizes[i];
            var rng = DeterministicRandom.Derive(11, DeterministicRandom.Domains.Demo, i);
            int fg = rng.NextInt(Colors.Length);
            int bg = (fg + 1 + rng.NextInt(Colors.Length - 1)) % Colors.Length;
            bool ellipse = rng.NextInt(2) == 0;
            int x0 = rng.NextInt(Math.Max(1, w / 2)), y0 = rng.NextInt(Math.Max(1, h / 2));
            int x1 = x0 + w / 3 + rng.NextInt(Math.Max(1, w / 2)), y1 = y0 + h / 3 + rng.NextInt(Math.Max(1, h / 2));
            var pixels = new byte[w * h * 3];
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    bool inside = x >= x0 && x < x1 && y >= y0 && y < y1;
                    if (inside && ellipse)
                    {
                        double cx = (x0 + x1) / 2.0, cy = (y0 + y1) / 2.0, rx = (x1 - x0) / 2.0, ry = (y1 - y0) / 2.0;
                        double dx = (x + 0.5 - cx) / rx, dy = (y + 0.5 - cy) / ry;
                        inside = dx * dx + dy * dy <= 1;
                    }
                    var c = inside ? Colors[fg] : Colors[bg];
                    int o = (y * w + x) * 3;
                    pixels[o] = c.R;
                    pixels[o + 1] = c.G;
                    pixels[o + 2] = c.B;
                }
            }
            string stem = i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
            PngWriter.Write(Path.Combine(dir, stem + ".png"), new RgbImage(w, h, pixels));
            string caption = $"item, {Colors[fg].Name} {(ellipse ? "ellipse" : "box")}, {Colors[bg].Name} background, {(w == h ? "square" : w > h ? "wide" : "tall")} picture";
            File.WriteAllText(Path.Combine(dir, stem + ".txt"), caption + "\n", new UTF8Encoding(false));
        }
        return path;
    }
}

/// <summary>
/// Interrupts a run after a given optimizer step: with a stop request, as Stop-KohyaTraining does, or by cancelling the
/// run's token, as Ctrl+C does. Either way the loop then saves. Step 0 with a token: Ctrl+C before the segment's first step.
/// </summary>
internal sealed class StopAtStep(long step, CancellationTokenSource? ctrlC = null) : ITrainingHook
{
    public void OnRunStarted(TrainingContext context)
    {
        if (step == 0)
            Interrupt(context);
    }

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        if (report.Step == step)
            Interrupt(context);
    }

    private void Interrupt(TrainingContext context)
    {
        if (ctrlC is not null)
            ctrlC.Cancel();
        else
            context.RequestStop($"test interruption after step {step}");
    }
}

/// <summary>What one optimizer step did and where the data position stood after it.</summary>
internal sealed record StepRecord(long Step, int ReportEpoch, double Loss, double LearningRate, double GradNorm, int Samples,
    int Epoch, int BatchInEpoch, long MicroBatches, long SamplesSeen);

/// <summary>Records every step of every segment it is given to (pass the same instance to each segment).</summary>
internal sealed class StepRecorder : ITrainingHook
{
    public List<StepRecord> Steps { get; } = new();

    public void OnStepEnded(TrainingContext context, StepReport r)
    {
        var s = context.State;
        Steps.Add(new StepRecord(r.Step, r.Epoch, r.Loss, r.LearningRate, r.GradNorm, r.Samples, s.Epoch, s.BatchInEpoch, s.MicroBatches, s.SamplesSeen));
    }

    /// <summary>Asserts that the mean loss of the last 8 steps is below <paramref name="factor"/> times that of the first 8.</summary>
    public void AssertLossFell(double factor)
    {
        double first = Steps.Take(8).Average(s => s.Loss);
        double last = Steps.TakeLast(8).Average(s => s.Loss);
        Assert.True(last < first * factor, $"loss should fall below {factor} of its start: first 8 steps {first:F4}, last 8 {last:F4}");
    }
}

/// <summary>A finished run (one or more segments): its final result and every step it trained.</summary>
internal sealed record RunOutcome(string RunPath, KohyaTrainingResult Final, IReadOnlyList<StepRecord> Steps)
{
    public string FinalCheckpoint => Final.LatestCheckpoint ?? throw new InvalidOperationException($"{RunPath}: no checkpoint");

    public CheckpointState FinalState => ResumeMatrixFixture.State(FinalCheckpoint);
}

/// <summary>
/// Shared by the whole class: the temp root, the datasets (written once), and the reference straight run that
/// several resume variants compare against. Everything is deleted at the end.
/// </summary>
public sealed class ResumeMatrixFixture : IDisposable
{
    private readonly object _gate = new();
    private RunOutcome? _reference;

    public ResumeMatrixFixture()
    {
        Root = Directory.CreateTempSubdirectory("kohya-resume-matrix-").FullName;
        Square12 = ResumeMatrixData.Write(Root, "square12", Enumerable.Repeat((16, 16), 12).ToList());
        // Resolution 16, buckets 8..32 step 8: 16x16 stays; 40x16 (2.5:1) goes to 24x8, 16x40 to 8x24; 32x8 is a bucket itself.
        // Batch 4: 5 squares -> 2 batches (4 + 1), 3 wide -> 1, 2 tall -> 1, 2 strips -> 1: 5 batches per epoch.
        var mixed = new List<(int, int)>();
        mixed.AddRange(Enumerable.Repeat((16, 16), 5));
        mixed.AddRange(Enumerable.Repeat((40, 16), 3));
        mixed.AddRange(Enumerable.Repeat((16, 40), 2));
        mixed.AddRange(Enumerable.Repeat((32, 8), 2));
        Buckets12 = ResumeMatrixData.Write(Root, "buckets12", mixed);
    }

    public string Root { get; }

    /// <summary>12 images of 16×16.</summary>
    public string Square12 { get; }

    /// <summary>12 images of four aspect ratios.</summary>
    public string Buckets12 { get; }

    /// <summary>Run name of the reference straight run; its checkpoints are named after it.</summary>
    public const string ReferenceRun = "reference";

    /// <summary>
    /// The reference configuration: tiny, 16 px, AdamW, constant_with_warmup (2), Square12 at batch 4 (3 batches per epoch),
    /// 6 steps. The straight run saves asynchronously every 3 steps, so it also holds an async interval checkpoint at step 3.
    /// </summary>
    internal static KohyaHyperparameterSet ReferenceConfig(long steps = 6, Action<KohyaHyperparameterSet>? tweak = null) =>
        TrainingTestSupport.Tiny(steps, tweak: hp =>
        {
            hp.Data.BatchSize = 4;
            hp.Resources.Threads = 2;
            hp.Saving.AsyncSave = false;
            hp.Saving.SaveEveryNSteps = 0;
            tweak?.Invoke(hp);
        });

    /// <summary>The reference straight run, trained once for the class.</summary>
    internal RunOutcome Reference
    {
        get
        {
            lock (_gate)
            {
                return _reference ??= Straight(ReferenceRun, ReferenceConfig(tweak: hp =>
                {
                    hp.Saving.AsyncSave = true;
                    hp.Saving.SaveEveryNSteps = 3;
                }), Square12);
            }
        }
    }

    /// <summary>A fresh run straight to its MaxSteps.</summary>
    internal RunOutcome Straight(string run, KohyaHyperparameterSet hp, string data)
    {
        var recorder = new StepRecorder();
        string path = Path.Combine(Root, run);
        var result = TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = path, ExtraHooks = [recorder] },
            NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal("Completed", result.Status);
        Assert.Equal(hp.Training.MaxSteps, result.FinalStep);
        return new RunOutcome(path, result, recorder.Steps);
    }

    /// <summary>
    /// The same run interrupted after each step in <paramref name="stops"/> (a stop request: the loop finishes the
    /// step and saves), each time continued with <see cref="TrainingRunner.Resume"/> from the run folder's newest checkpoint.
    /// </summary>
    internal RunOutcome Interrupted(string run, KohyaHyperparameterSet hp, string data, params long[] stops) =>
        Interrupted(run, hp, data, ctrlC: false, stops);

    /// <summary><see cref="Interrupted(string, KohyaHyperparameterSet, string, long[])"/>, with Ctrl+C (token cancellation) when <paramref name="ctrlC"/>.</summary>
    internal RunOutcome Interrupted(string run, KohyaHyperparameterSet hp, string data, bool ctrlC, params long[] stops)
    {
        Assert.NotEmpty(stops);
        var recorder = new StepRecorder();
        string path = Path.Combine(Root, run);
        using (var cts = new CancellationTokenSource())
        {
            var first = TrainingRunner.Run(
                new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = path, ExtraHooks = [recorder, new StopAtStep(stops[0], ctrlC ? cts : null)] },
                NullTrainingObserver.Instance, cts.Token);
            AssertStopped(first, stops[0]);
        }
        for (int i = 1; i < stops.Length; i++)
        {
            using var cts = new CancellationTokenSource();
            var more = Resume(new ResumeRequest { RunPath = path, ExtraHooks = [recorder, new StopAtStep(stops[i], ctrlC ? cts : null)] }, cts.Token);
            AssertStopped(more, stops[i]);
        }
        var last = Resume(new ResumeRequest { RunPath = path, ExtraHooks = [recorder] });
        Assert.Equal("Completed", last.Status);
        Assert.Equal(hp.Training.MaxSteps, last.FinalStep);
        return new RunOutcome(path, last, recorder.Steps);
    }

    internal static KohyaTrainingResult Resume(ResumeRequest request, CancellationToken cancellation = default)
    {
        var result = TrainingRunner.Resume(request, NullTrainingObserver.Instance, cancellation);
        // A resume on the same machine raises no continuity warning; only the test's own stop is reported.
        Assert.All(result.Warnings, w => Assert.StartsWith("Training stopped:", w, StringComparison.Ordinal));
        return result;
    }

    private static void AssertStopped(KohyaTrainingResult result, long step)
    {
        Assert.Equal("Stopped", result.Status);
        Assert.Equal(step, result.FinalStep);
        Assert.Equal(CheckpointNames.For(Path.GetFileName(result.OutputPath), step), Path.GetFileName(result.LatestCheckpoint));
    }

    internal static CheckpointState State(string checkpoint)
    {
        string path = Path.Combine(checkpoint, CheckpointNames.StateFile);
        return CheckpointState.Parse(File.ReadAllText(path), path);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
