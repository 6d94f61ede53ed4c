using System.Diagnostics;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Monitoring;

namespace KohyaPS.Tests.Monitoring;

/// <summary>The log reader and follower on hand-written logs: stitching rules, torn lines and every failure path.</summary>
public sealed class TrainingLogReaderTests : IDisposable
{
    private readonly string _run = Directory.CreateTempSubdirectory("kohya-log-").FullName;

    public void Dispose() => Directory.Delete(_run, recursive: true);

    private void Write(string file, params string[] lines)
    {
        Directory.CreateDirectory(Path.Combine(_run, "logs"));
        File.WriteAllText(Path.Combine(_run, "logs", file), string.Concat(lines.Select(l => l + "\n")));
    }

    private static string Step(long step, string segment, double loss) =>
        FormattableString.Invariant($"{{\"step\":{step},\"epoch\":0,\"loss\":{loss},\"lr\":0.001,\"grad_norm\":1,\"samples_per_second\":10,\"time\":\"2026-11-25T18:00:00.0000000Z\",\"segment\":\"{segment}\"}}");

    [Fact]
    public void RollbackWithinASegmentAndTwoResumesStitchByStep()
    {
        // a: 1..4; b resumes at 3 (from checkpoint 2) to 6, rolls back to 4 within itself, goes on to 6; c resumes at 6.
        Write("train.jsonl", Step(1, "a", 1), Step(2, "a", 2), Step(3, "a", 3), Step(4, "a", 4),
            Step(3, "b", 30), Step(4, "b", 40), Step(5, "b", 50), Step(6, "b", 60),
            Step(5, "b", 51), Step(6, "b", 61), Step(6, "c", 62));
        Write("events.jsonl", "{\"step\":6,\"time\":\"2026-11-25T18:00:00Z\",\"segment\":\"b\",\"kind\":\"Rollback\",\"action\":\"Rollback\",\"message\":\"m\"}");
        var records = TrainingLogReader.Read(_run, new TrainingLogQuery()).ToList();
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, records.Select(r => r.Step));
        Assert.Equal(new double[] { 1, 2, 30, 40, 51, 62 }, records.Select(r => r.Loss));
        Assert.Equal(new[] { 1, 1, 2, 2, 2, 3 }, records.Select(r => r.SegmentNumber));
        Assert.Equal(new long[] { 3, 6 }, records.Where(r => r.IsResumePoint).Select(r => r.Step));
        // An event belongs to the record of its segment and step: b's step 6 was superseded by c, so it shows there.
        Assert.All(records, r => Assert.Empty(r.Events));
        var all = TrainingLogReader.Read(_run, new TrainingLogQuery { IncludeSuperseded = true }).ToList();
        Assert.Equal(11, all.Count);
        Assert.Equal(new double[] { 3, 4, 50, 60, 61 }, all.Where(r => r.IsSuperseded).Select(r => r.Loss));
        Assert.Equal("Rollback", Assert.Single(all.Single(r => r.Loss == 61).Events).Kind);
    }

    [Fact]
    public void TornLastLinesAreIgnoredAndNonFiniteLossesReadBack()
    {
        Write("train.jsonl", Step(1, "a", 1), Step(2, "a", 2).Replace("\"loss\":2", "\"loss\":\"NaN\""));
        File.AppendAllText(Path.Combine(_run, "logs", "train.jsonl"), "{\"step\":3,\"loss\":");
        Write("metrics.jsonl", "{\"step\":1,\"name\":\"val_loss\",\"value\":0.5,\"segment\":\"a\"}");
        File.AppendAllText(Path.Combine(_run, "logs", "metrics.jsonl"), "{\"step\":2,\"na");
        var records = TrainingLogReader.Read(_run, new TrainingLogQuery()).ToList();
        Assert.Equal(2, records.Count);
        Assert.True(double.IsNaN(records[1].Loss));
        Assert.Equal(0.5, records[0].ValidationLoss);
    }

    [Fact]
    public void MissingRunMissingLogAndDamagedLineHaveTheirOwnErrors()
    {
        var missing = Assert.Throws<KohyaException>(() => TrainingLogReader.Read(Path.Combine(_run, "nope"), new TrainingLogQuery()).ToList());
        Assert.Equal(("RunNotFound", KohyaErrorKind.ObjectNotFound), (missing.ErrorId, missing.Kind));
        var noLog = Assert.Throws<KohyaException>(() => TrainingLogReader.Read(_run, new TrainingLogQuery()).ToList());
        Assert.Equal(("TrainingLogNotFound", KohyaErrorKind.ObjectNotFound), (noLog.ErrorId, noLog.Kind));
        Assert.NotNull(noLog.RecommendedAction);
        Write("train.jsonl", Step(1, "a", 1), "{not json", Step(2, "a", 2));
        var bad = Assert.Throws<KohyaException>(() => TrainingLogReader.Read(_run, new TrainingLogQuery()).ToList());
        Assert.Equal(("TrainingLogInvalid", KohyaErrorKind.InvalidData), (bad.ErrorId, bad.Kind));
        Assert.Contains("line 2", bad.Message);
    }

    [Fact]
    public void FollowerReportsNewLinesAndEndsWhenTheSegmentEndsOrItsProcessIsGone()
    {
        Write("segments.jsonl", "{\"event\":\"start\",\"segment\":\"a\",\"start_step\":0,\"target_step\":10}");
        Write("train.jsonl", Step(1, "a", 1));
        File.WriteAllText(Path.Combine(_run, RunLock.OwnerFileName), $"pid {Environment.ProcessId} on {Environment.MachineName} since now");
        var follower = new TrainingLogFollower(_run, TimeSpan.Zero);
        var first = follower.Poll();
        Assert.Equal(new long[] { 1 }, first.Records.Select(r => r.Step)); // the running segment from its start
        Assert.False(first.Finished);
        Assert.Equal(10, first.TargetStep);
        File.AppendAllText(Path.Combine(_run, "logs", "train.jsonl"), Step(2, "a", 2) + "\n" + "{\"step\":3");
        Assert.Equal(new long[] { 2 }, follower.Poll().Records.Select(r => r.Step));
        Assert.False(follower.Poll().Finished); // lock holder (this process) alive

        // Its process is gone: a pid that does not exist.
        using (var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            gone.WaitForExit();
            File.WriteAllText(Path.Combine(_run, RunLock.OwnerFileName), $"pid {gone.Id} on {Environment.MachineName} since now");
        }
        var over = follower.Poll();
        Assert.Equal((true, "ProcessGone"), (over.Finished, over.Reason));

        // A clean end line ends it with its status; a finished run with nothing running ends a new watch at once.
        File.AppendAllText(Path.Combine(_run, "logs", "segments.jsonl"), "{\"event\":\"end\",\"segment\":\"a\",\"step\":2,\"status\":\"Stopped\"}\n");
        File.Delete(Path.Combine(_run, RunLock.OwnerFileName));
        Assert.Equal("Stopped", follower.Poll().Reason);
        var late = new TrainingLogFollower(_run, TimeSpan.Zero).Poll();
        Assert.Equal((true, "NotRunning", 0), (late.Finished, late.Reason, late.Records.Count));
        // A folder not there yet is waited for (a job creates it when it starts); a missing parent is a wrong path at once.
        var notYet = new TrainingLogFollower(Path.Combine(_run, "later"), TimeSpan.FromMinutes(5));
        Assert.False(notYet.Poll().Finished);
        Directory.CreateDirectory(Path.Combine(_run, "later", "logs"));
        File.WriteAllText(Path.Combine(_run, "later", "logs", "train.jsonl"), Step(1, "z", 1) + "\n");
        Assert.Equal(new long[] { 1 }, notYet.Poll().Records.Select(r => r.Step));
        var never = new TrainingLogFollower(Path.Combine(_run, "never"), TimeSpan.Zero);
        Assert.Equal("RunNotFound", Assert.Throws<KohyaException>(() => never.Poll()).ErrorId);
        var ex = Assert.Throws<KohyaException>(() => new TrainingLogFollower(Path.Combine(_run, "no", "such"), TimeSpan.Zero));
        Assert.Equal("RunNotFound", ex.ErrorId);
    }
}
