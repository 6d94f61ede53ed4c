using System.Diagnostics;
using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints;

namespace KohyaPS.Engine.Monitoring;

/// <summary>What one poll of a followed run found.</summary>
/// <param name="Records">Steps logged since the last poll, in the order written.</param>
/// <param name="TargetStep">The target of the segment being followed, once it has started.</param>
/// <param name="LastStep">The newest step seen (0 before any).</param>
/// <param name="Finished">The training is over: its segment ended, reached its target, or its process is gone.</param>
/// <param name="Reason">Why it is over: Completed, Stopped, TargetReached, ProcessGone or NotRunning.</param>
public sealed record FollowUpdate(IReadOnlyList<KohyaTrainingLogRecord> Records, long? TargetStep, long LastStep, bool Finished, string? Reason);

/// <summary>
/// Follows a run that another process (or a job) is training, by its files alone: new complete lines of
/// <c>logs/train.jsonl</c>, the segment start and end lines of <c>logs/segments.jsonl</c>, and the run lock's owner
/// note. It starts at the first step of the segment running when it is created (or at the end of the log when none
/// is running), so a watch begun just after a job started misses nothing.
/// </summary>
public sealed class TrainingLogFollower
{
    private readonly string _run;
    private readonly string _name;
    private readonly TimeSpan _startGrace;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly HashSet<string> _segmentsSeen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _endedBefore = new(StringComparer.Ordinal);
    private bool _initialized;
    private long _offset;
    private long _lastStep;
    private bool _sawTarget;

    public TrainingLogFollower(string runDirectory, TimeSpan startGrace)
    {
        _run = TrainingLogFiles.RunOf(runDirectory);
        // A job just started may not have created its folder yet; a folder whose parent is missing is a wrong path.
        if (!Directory.Exists(_run) && !Directory.Exists(Path.GetDirectoryName(_run)))
            throw RunNotFound();
        _name = Path.GetFileName(_run);
        _startGrace = startGrace;
        if (Directory.Exists(_run))
            Initialize(everything: false);
    }

    public string RunPath => _run;

    /// <summary>
    /// Where to begin: the first line of the segment running now, else the end of the log — or, for a folder that
    /// appeared after the watch began (<paramref name="everything"/>), its first line.
    /// </summary>
    private void Initialize(bool everything)
    {
        _initialized = true;
        if (everything)
            return;
        var segments = ReadSegments();
        _endedBefore.UnionWith(segments.Where(s => s.Ended).Select(s => s.Id));
        var running = segments.LastOrDefault(s => !s.Ended);
        string path = TrainingLogFiles.TrainLog(_run);
        var lines = JsonLinesReader.ReadComplete(path, 0, out long end);
        _offset = end;
        long position = 0;
        foreach (var line in lines)
        {
            var step = TrainingLogFiles.ParseStep(JsonLinesReader.Parse(line, path, 0));
            if (running is not null && step.Segment == running.Id)
            {
                _offset = position;
                break;
            }
            _segmentsSeen.Add(step.Segment);
            _lastStep = step.Step;
            position += System.Text.Encoding.UTF8.GetByteCount(line) + 1;
        }
    }

    private KohyaException RunNotFound() =>
        new("RunNotFound", KohyaErrorKind.ObjectNotFound, $"Run folder '{_run}' does not exist.", target: _run)
        {
            RecommendedAction = "Give the -OutputPath of the training to watch; the folder exists as soon as it starts.",
        };


    public FollowUpdate Poll()
    {
        if (!_initialized)
        {
            if (!Directory.Exists(_run))
            {
                if (_clock.Elapsed >= _startGrace)
                    throw RunNotFound();
                return new FollowUpdate(Array.Empty<KohyaTrainingLogRecord>(), null, 0, false, null);
            }
            Initialize(everything: true);
        }
        var segments = ReadSegments();
        var current = segments.LastOrDefault(s => !_endedBefore.Contains(s.Id));
        var records = new List<KohyaTrainingLogRecord>();
        string path = TrainingLogFiles.TrainLog(_run);
        foreach (var line in JsonLinesReader.ReadComplete(path, _offset, out _offset))
        {
            var s = TrainingLogFiles.ParseStep(JsonLinesReader.Parse(line, path, 0));
            bool first = _segmentsSeen.Add(s.Segment);
            _lastStep = s.Step;
            records.Add(new KohyaTrainingLogRecord
            {
                Run = _name, RunPath = _run, Step = s.Step, Epoch = s.Epoch, Loss = s.Loss, LearningRate = s.LearningRate,
                GradNorm = s.GradNorm, SamplesPerSecond = s.SamplesPerSecond, Time = s.Time, Segment = s.Segment,
                SegmentNumber = _segmentsSeen.Count, IsResumePoint = first && _segmentsSeen.Count > 1,
            });
        }
        long? target = current?.TargetStep;
        if (current is null)
        {
            bool waiting = LockHeld() || _clock.Elapsed < _startGrace;
            return new FollowUpdate(records, null, _lastStep, !waiting, waiting ? null : "NotRunning");
        }
        _sawTarget |= current.TargetStep > 0 && records.Any(r => r.Segment == current.Id && r.Step >= current.TargetStep);
        if (current.Ended && records.Count == 0)
            return new FollowUpdate(records, target, _lastStep, true, current.Status);
        if (_sawTarget)
            return new FollowUpdate(records, target, _lastStep, true, "TargetReached");
        if (records.Count == 0 && !current.Ended && !LockHeld())
            return new FollowUpdate(records, target, _lastStep, true, "ProcessGone");
        return new FollowUpdate(records, target, _lastStep, false, null);
    }

    /// <summary>
    /// Whether a trainer holds the run: its owner note exists (a clean exit removes it) and, when it names this host,
    /// the process it names is alive. The lock itself is never touched, so watching cannot get in a trainer's way.
    /// </summary>
    public bool LockHeld()
    {
        string? owner = RunLock.ReadOwner(Path.Combine(_run, RunLock.OwnerFileName));
        if (owner is null)
            return false;
        var parts = owner.Split(' ');
        // "pid <pid> on <host> since <time>"
        if (parts.Length >= 4 && parts[0] == "pid" && parts[2] == "on"
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            && string.Equals(parts[3], Environment.MachineName, StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                return !process.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
        return true;
    }

    private sealed record SegmentLine(string Id, long TargetStep, bool Ended, string? Status);

    private List<SegmentLine> ReadSegments()
    {
        var list = new List<SegmentLine>();
        foreach (var line in TrainingLogFiles.Lines(TrainingLogFiles.SegmentLog(_run)))
        {
            string id = JsonLinesReader.String(line, "segment");
            string kind = JsonLinesReader.String(line, "event");
            int index = list.FindIndex(s => s.Id == id);
            if (kind == "start" && index < 0)
                list.Add(new SegmentLine(id, JsonLinesReader.Int64(line, "target_step"), false, null));
            else if (kind == "end" && index >= 0)
                list[index] = list[index] with { Ended = true, Status = JsonLinesReader.String(line, "status") };
        }
        return list;
    }
}
