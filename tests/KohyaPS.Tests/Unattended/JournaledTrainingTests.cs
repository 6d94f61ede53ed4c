using KohyaPS.Engine;
using KohyaPS.Engine.Training;
using KohyaPS.Engine.Unattended;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Unattended;

public sealed class JournaledTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kohya-journal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Quiet : ITrainingObserver
    {
        public void Progress(KohyaPS.Contracts.KohyaTrainingProgress progress) { }
        public void Warning(string message) { }
        public void Verbose(string message) { }
    }

    [Fact]
    public void Start_resume_and_refusals_each_leave_a_begin_and_an_end_line_with_the_exit_code()
    {
        string data = TrainingTestSupport.DemoDataset(_dir, count: 8);
        string run = Path.Combine(_dir, "run");
        var first = JournaledTraining.Start(new TrainingRequest { Hyperparameters = TrainingTestSupport.Tiny(2, saveEvery: 2), DatasetPath = data, OutputPath = run },
            "Invoke-KohyaTraining (test)", new Quiet(), CancellationToken.None);
        Assert.Equal("Completed", first.Status);
        var done = JournaledTraining.Resume(new ResumeRequest { RunPath = run }, "Resume-KohyaTraining (test)", new Quiet(), CancellationToken.None);
        Assert.Equal("AlreadyComplete", done.Status);
        string empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        var ex = Assert.Throws<KohyaException>(() => JournaledTraining.Resume(new ResumeRequest { RunPath = empty }, "resume empty", new Quiet(), CancellationToken.None));
        Assert.Equal("NothingToResume", ex.ErrorId);

        var log = RunLog.Read(run);
        Assert.Equal(new[] { "start", "stop", "resume", "stop" }, log.Select(e => e.Event));
        Assert.Equal(new[] { "Started", "Completed", "Started", "AlreadyComplete" }, log.Select(e => e.Outcome));
        Assert.Equal(new int?[] { null, 0, null, 0 }, log.Select(e => e.ExitCode));
        Assert.All(log, e => Assert.Equal(Environment.ProcessId, e.ProcessId));
        Assert.Equal("Resume-KohyaTraining (test)", log[3].Command);
        var refused = RunLog.Read(empty);
        Assert.Equal(new[] { "resume", "failure" }, refused.Select(e => e.Event));
        Assert.Equal(("NothingToResume", (int?)11), (refused[1].Outcome, refused[1].ExitCode));
    }

    [Fact]
    public void A_start_refused_before_training_creates_no_run_folder()
    {
        string run = Path.Combine(_dir, "refused");
        var hp = TrainingTestSupport.Tiny(2, tweak: h => h.Model.Path = "weights.safetensors"); // refused by validation: Model.Path needs a latent preset
        Assert.Throws<KohyaException>(() => JournaledTraining.Start(new TrainingRequest { Hyperparameters = hp, DatasetPath = _dir, OutputPath = run },
            "Invoke-KohyaTraining (test)", new Quiet(), CancellationToken.None));
        Assert.False(Directory.Exists(run));
    }
}
