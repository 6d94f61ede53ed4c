using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Unattended;

namespace KohyaPS.Tests.Unattended;

public sealed class RunLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kohya-runlog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Lines_round_trip_and_tabs_or_line_breaks_cannot_split_them()
    {
        var entry = new RunLogEntry
        {
            TimeUtc = new DateTime(2026, 11, 25, 18, 0, 0, 123, DateTimeKind.Utc), Event = "failure", Outcome = "RunLocked", ExitCode = 10,
            ProcessId = 4242, Host = "box", User = "ann", Command = "Resume-KohyaTraining -Path 'D:\\runs\\a\tb'\n-Latest",
        };
        RunLog.Append(_dir, entry);
        RunLog.Append(_dir, entry with { Event = "resume", Outcome = "Started", ExitCode = null });
        var lines = File.ReadAllLines(RunLog.PathFor(_dir));
        Assert.Equal(2, lines.Length);
        Assert.Equal("2026-11-25T18:00:00.123Z\tfailure\tRunLocked\t10\t4242\tbox\tann\tResume-KohyaTraining -Path 'D:\\runs\\a b' -Latest", lines[0]);
        var read = RunLog.Read(_dir);
        Assert.Equal(entry with { Command = "Resume-KohyaTraining -Path 'D:\\runs\\a b' -Latest" }, read[0]);
        Assert.Null(read[1].ExitCode);
    }

    [Fact]
    public void Appends_from_many_writers_stay_whole_lines()
    {
        Parallel.For(0, 8, writer =>
        {
            for (int i = 0; i < 40; i++)
                RunLog.Append(_dir, new RunLogEntry { TimeUtc = DateTime.UtcNow, Event = "resume", Outcome = "Started", ProcessId = writer, Host = "h", User = "u", Command = new string('x', 200 + i) });
        });
        var lines = File.ReadAllLines(RunLog.PathFor(_dir));
        Assert.Equal(320, lines.Length);
        Assert.All(lines, line => Assert.NotNull(RunLog.Parse(line)));
        Assert.Equal(320, RunLog.Read(_dir).Count);
    }

    [Fact]
    public void A_missing_run_folder_is_not_created_and_torn_lines_are_skipped()
    {
        string missing = Path.Combine(_dir, "nope");
        RunLog.Append(missing, new RunLogEntry { Event = "resume" });
        Assert.False(Directory.Exists(missing));
        Directory.CreateDirectory(Path.Combine(_dir, "logs"));
        File.WriteAllText(RunLog.PathFor(_dir), "2026-11-25T18:00:00.000Z\tstop\tCompleted\t0\t1\th\tu\tcmd\n2026-11-25T18:0");
        Assert.Single(RunLog.Read(_dir));
    }

    [Theory]
    [InlineData("RunLocked", KohyaExitCode.RunLocked)]
    [InlineData("NothingToResume", KohyaExitCode.NothingToResume)]
    [InlineData("RunNotFound", KohyaExitCode.NothingToResume)]
    [InlineData("CheckpointInvalid", KohyaExitCode.CheckpointInvalid)]
    [InlineData("CheckpointTestFailed", KohyaExitCode.CheckpointInvalid)]
    [InlineData("HyperparameterDriftRefused", KohyaExitCode.HyperparameterDriftRefused)]
    [InlineData("HyperparameterChangeIncompatible", KohyaExitCode.HyperparameterDriftRefused)]
    [InlineData("DatasetChanged", KohyaExitCode.DatasetChangeRefused)]
    [InlineData("HyperparameterFileNotFound", KohyaExitCode.Failed)]
    [InlineData(null, KohyaExitCode.Failed)]
    public void Error_ids_map_to_their_documented_exit_codes(string? errorId, KohyaExitCode code)
    {
        Assert.Equal(code, ExitCodes.ForErrorId(errorId));
        if (errorId is not null)
            Assert.Equal(code, ExitCodes.ForException(new KohyaException(errorId, KohyaErrorKind.InvalidOperation, "x")));
    }

    [Fact]
    public void Results_map_to_zero_at_the_target_and_stopped_before_it()
    {
        Assert.Equal(KohyaExitCode.Success, ExitCodes.ForResult(new KohyaTrainingResult { Status = "Completed", FinalStep = 10, TargetStep = 10 }));
        Assert.Equal(KohyaExitCode.Success, ExitCodes.ForResult(new KohyaTrainingResult { Status = "AlreadyComplete", FinalStep = 12, TargetStep = 10 }));
        Assert.Equal(KohyaExitCode.Stopped, ExitCodes.ForResult(new KohyaTrainingResult { Status = "Stopped", FinalStep = 4, TargetStep = 10 }));
        Assert.Equal(KohyaExitCode.Stopped, ExitCodes.ForException(new OperationCanceledException()));
        Assert.Equal(KohyaExitCode.Failed, ExitCodes.ForException(new IOException()));
    }
}
