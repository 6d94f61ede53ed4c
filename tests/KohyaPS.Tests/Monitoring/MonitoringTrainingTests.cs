using System.Text.Json;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Monitoring;
using KohyaPS.Engine.Monitoring.TensorBoard;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Monitoring;

/// <summary>Publishes a val_loss and a monitor event at one step through the context's channels, as monitor hooks do.</summary>
internal sealed class PublishAt(long step, double value) : ITrainingHook
{
    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        if (report.Step != step)
            return;
        context.ReportMetric(TrainingLogReader.ValidationLossMetric, value);
        context.RaiseEvent(new KohyaTrainingEvent { Step = report.Step, Kind = "Spike", Action = "Warn", Message = "test spike", Value = 4.5, Threshold = 3 });
    }
}

/// <summary>Real tiny trainings: event files, metric and event logs, and the stitched log across a resume after a kill.</summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class MonitoringTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-monitor-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private KohyaTrainingResult Train(string run, KohyaHyperparameterSet hp, string data, params ITrainingHook[] hooks) =>
        TrainingRunner.Run(new TrainingRequest { Hyperparameters = hp, DatasetPath = data, OutputPath = Path.Combine(_root, run), ExtraHooks = hooks },
            NullTrainingObserver.Instance, CancellationToken.None);

    private static List<JsonElement> Lines(string path) =>
        File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void EventFilesMetricsAndEventsOfARealTrainingMatchTheLossLog()
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 8);
        var result = Train("run", TrainingTestSupport.Tiny(4), data, new PublishAt(2, 0.375));
        string run = result.OutputPath;
        var train = Lines(result.LogPath);
        Assert.Equal(4, train.Count);

        var file = Assert.Single(EventFileReader.ReadFolder(Path.Combine(run, "logs")));
        Assert.Matches(@"^events\.out\.tfevents\.\d{10}\." + System.Text.RegularExpressions.Regex.Escape(Environment.MachineName) + "$", Path.GetFileName(file.Path));
        Assert.Null(file.TornAt);
        Assert.Equal(TensorBoardEvent.FileVersion2, file.Events[0].FileVersion);
        Assert.DoesNotContain(file.Events, e => e.Session is not null);
        var perStep = file.Events.Where(e => e.Scalars.Any(s => s.Tag == TensorBoardHook.LossTag)).ToList();
        Assert.Equal(new long[] { 1, 2, 3, 4 }, perStep.Select(e => e.Step));
        for (int i = 0; i < 4; i++)
        {
            var tags = perStep[i].Scalars.ToDictionary(s => s.Tag, s => s.Value);
            Assert.Equal(new[] { "loss", "lr", "grad_norm", "samples_per_second" }, perStep[i].Scalars.Select(s => s.Tag));
            Assert.Equal((float)train[i].GetProperty("loss").GetDouble(), tags["loss"]);
            Assert.Equal((float)train[i].GetProperty("lr").GetDouble(), tags["lr"]);
            Assert.Equal((float)train[i].GetProperty("grad_norm").GetDouble(), tags["grad_norm"]);
            Assert.Equal((float)train[i].GetProperty("samples_per_second").GetDouble(), tags["samples_per_second"]);
            Assert.True(perStep[i].WallTime > 1.7e9);
        }
        var val = Assert.Single(file.Events, e => e.Scalars.Any(s => s.Tag == "val_loss"));
        Assert.Equal(2, val.Step);
        Assert.Equal(0.375f, Assert.Single(val.Scalars).Value);

        var metric = Assert.Single(Lines(TrainingLogFiles.MetricLog(run)));
        Assert.Equal(2, metric.GetProperty("step").GetInt64());
        Assert.Equal("val_loss", metric.GetProperty("name").GetString());
        Assert.Equal(0.375, metric.GetProperty("value").GetDouble());
        Assert.Equal(train[0].GetProperty("segment").GetString(), metric.GetProperty("segment").GetString());
        var ev = Assert.Single(Lines(TrainingLogFiles.EventLog(run)));
        Assert.Equal("Spike", ev.GetProperty("kind").GetString());
        Assert.Equal(4.5, ev.GetProperty("value").GetDouble());
        var segments = Lines(TrainingLogFiles.SegmentLog(run));
        Assert.Equal(new[] { "start", "end" }, segments.Select(s => s.GetProperty("event").GetString()));
        Assert.Equal(4, segments[0].GetProperty("target_step").GetInt64());
        Assert.Equal("Completed", segments[1].GetProperty("status").GetString());

        var records = TrainingLogReader.Read(run, new TrainingLogQuery()).ToList();
        Assert.Equal(new long[] { 1, 2, 3, 4 }, records.Select(r => r.Step));
        Assert.Equal(0.375, records[1].ValidationLoss);
        Assert.All(records.Where(r => r.Step != 2), r => Assert.Null(r.ValidationLoss));
        Assert.Equal("test spike", Assert.Single(records[1].Events).Message);
        Assert.All(records, r => Assert.False(r.IsResumePoint));
        Assert.Equal(train.Select(t => t.GetProperty("loss").GetDouble()), records.Select(r => r.Loss));
    }

    [Fact]
    public void ResumeAfterAKillStartsANewEventFileThatPurgesTheOrphanedStepsAndTheLogIsStitched()
    {
        string data = TrainingTestSupport.DemoDataset(_root, count: 8);
        var first = Train("run", TrainingTestSupport.Tiny(5, saveEvery: 2), data);
        string run = first.OutputPath;
        // A kill after step 5 was logged but before it was saved: no checkpoint 5, torn last writes in both logs.
        Directory.Delete(first.LatestCheckpoint!, recursive: true);
        string oldEvents = Assert.Single(Directory.GetFiles(Path.Combine(run, "logs"), "events.out.tfevents.*"));
        var half = TfRecord.Frame(new TensorBoardEvent { Step = 6, Scalars = new[] { new TensorBoardScalar("loss", 1) } }.Encode());
        using (var f = new FileStream(oldEvents, FileMode.Append)) f.Write(half, 0, half.Length / 2);
        File.AppendAllText(first.LogPath, "{\"step\":6,\"epo");

        var resumed = TrainingRunner.Resume(new ResumeRequest { RunPath = run, MaxSteps = 7 }, NullTrainingObserver.Instance, CancellationToken.None);
        Assert.Equal(4, resumed.StartStep);
        Assert.Equal(7, resumed.FinalStep);

        var train = Lines(first.LogPath); // the torn line was cut off by the resumed writer
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 5, 6, 7 }, train.Select(t => t.GetProperty("step").GetInt64()));
        var files = EventFileReader.ReadFolder(Path.Combine(run, "logs"));
        Assert.Equal(2, files.Count);
        Assert.Equal(oldEvents, files[0].Path);
        Assert.NotNull(files[0].TornAt);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, files[0].Events.Where(e => e.Scalars.Count > 0).Select(e => e.Step));
        Assert.Equal(TensorBoardEvent.FileVersion2, files[1].Events[0].FileVersion);
        Assert.Equal(SessionStatus.Start, files[1].Events[1].Session);
        Assert.Equal(5, files[1].Events[1].Step);
        Assert.Equal(new long[] { 5, 6, 7 }, files[1].Events.Skip(2).Select(e => e.Step));

        // What TensorBoard shows: a START purges every value at its step and later, then the new values follow.
        var curve = new SortedDictionary<long, float>();
        foreach (var e in files.SelectMany(f => f.Events))
        {
            if (e.Session == SessionStatus.Start)
                foreach (long s in curve.Keys.Where(k => k >= e.Step).ToList()) curve.Remove(s);
            foreach (var scalar in e.Scalars.Where(s => s.Tag == "loss")) curve[e.Step] = scalar.Value;
        }
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6, 7 }, curve.Keys);
        Assert.Equal(new[] { 0, 1, 2, 3, 5, 6, 7 }.Select(i => (float)train[i].GetProperty("loss").GetDouble()), curve.Values);

        var records = TrainingLogReader.Read(run, new TrainingLogQuery()).ToList();
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6, 7 }, records.Select(r => r.Step));
        Assert.Equal(new[] { 1, 1, 1, 1, 2, 2, 2 }, records.Select(r => r.SegmentNumber));
        Assert.Equal(new long[] { 5 }, records.Where(r => r.IsResumePoint).Select(r => r.Step));
        Assert.Equal(train[5].GetProperty("loss").GetDouble(), records[4].Loss);
        Assert.All(records, r => Assert.False(r.IsSuperseded));

        var all = TrainingLogReader.Read(run, new TrainingLogQuery { IncludeSuperseded = true }).ToList();
        Assert.Equal(8, all.Count);
        var old = Assert.Single(all, r => r.IsSuperseded);
        Assert.Equal((5L, 1, train[4].GetProperty("loss").GetDouble()), (old.Step, old.SegmentNumber, old.Loss));
        Assert.Equal(new long[] { 5, 6, 7 }, TrainingLogReader.Read(run, new TrainingLogQuery { Segments = new[] { 2 } }).Select(r => r.Step));
        Assert.Equal(new long[] { 3, 4, 5 }, TrainingLogReader.Read(run, new TrainingLogQuery { FirstStep = 3, LastStep = 5 }).Select(r => r.Step));
        // A checkpoint folder or the logs folder names the same run.
        Assert.Equal(run, TrainingLogFiles.RunOf(Path.Combine(run, CheckpointNames.Folder, "run-s00000004")));
        Assert.Equal(run, TrainingLogFiles.RunOf(Path.Combine(run, "logs")));
    }
}
