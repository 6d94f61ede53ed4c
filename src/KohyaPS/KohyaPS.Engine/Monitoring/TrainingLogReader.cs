using KohyaPS.Contracts;

namespace KohyaPS.Engine.Monitoring;

/// <summary>Which records <see cref="TrainingLogReader"/> returns.</summary>
public sealed record TrainingLogQuery
{
    /// <summary>Only steps at or after this one.</summary>
    public long? FirstStep { get; init; }

    /// <summary>Only steps at or before this one.</summary>
    public long? LastStep { get; init; }

    /// <summary>Only these segments (1 = the fresh start, 2 = the first resume, …); empty for all.</summary>
    public IReadOnlyCollection<int> Segments { get; init; } = Array.Empty<int>();

    /// <summary>Also the records of steps a later segment trained again, marked IsSuperseded, in the order written.</summary>
    public bool IncludeSuperseded { get; init; }
}

/// <summary>
/// Reads a run's logs back as one record per cumulative step across every segment. The loss log is stitched: when a
/// line's step is not after the last step still standing (a resume from an older checkpoint than the run had reached,
/// or a rollback), the standing records at that step and later are superseded by the new ones. Each record gets the
/// validation loss (metric <c>val_loss</c>) and the monitor events of its step. Torn last lines are ignored.
/// </summary>
public static class TrainingLogReader
{
    public const string ValidationLossMetric = "val_loss";

    public static IEnumerable<KohyaTrainingLogRecord> Read(string runDirectory, TrainingLogQuery query, CancellationToken cancellation = default)
    {
        string run = TrainingLogFiles.RequireRun(runDirectory);
        string name = Path.GetFileName(run);
        // First pass: every step line, compactly; which ones stand; segment numbers in order of appearance.
        var steps = TrainingLogFiles.Lines(TrainingLogFiles.TrainLog(run)).Select(TrainingLogFiles.ParseStep).ToList();
        var superseded = new bool[steps.Count];
        var standing = new List<int>();
        var segmentNumbers = new Dictionary<string, int>(StringComparer.Ordinal);
        var firstOfSegment = new bool[steps.Count];
        for (int i = 0; i < steps.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            while (standing.Count > 0 && steps[standing[^1]].Step >= steps[i].Step)
            {
                superseded[standing[^1]] = true;
                standing.RemoveAt(standing.Count - 1);
            }
            standing.Add(i);
            if (segmentNumbers.TryAdd(steps[i].Segment, segmentNumbers.Count + 1))
                firstOfSegment[i] = true;
        }
        var validation = ValidationLosses(run);
        var events = Events(run, steps, superseded);

        for (int i = 0; i < steps.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var s = steps[i];
            int segment = segmentNumbers[s.Segment];
            if (superseded[i] && !query.IncludeSuperseded
                || query.FirstStep is { } first && s.Step < first
                || query.LastStep is { } last && s.Step > last
                || query.Segments.Count > 0 && !query.Segments.Contains(segment))
                continue;
            yield return new KohyaTrainingLogRecord
            {
                Run = name,
                RunPath = run,
                Step = s.Step,
                Epoch = s.Epoch,
                Loss = s.Loss,
                LearningRate = s.LearningRate,
                GradNorm = s.GradNorm,
                SamplesPerSecond = s.SamplesPerSecond,
                Time = s.Time,
                Segment = s.Segment,
                SegmentNumber = segment,
                IsResumePoint = firstOfSegment[i] && segment > 1,
                IsSuperseded = superseded[i],
                ValidationLoss = validation.TryGetValue((s.Segment, s.Step), out double v) ? v
                    : validation.TryGetValue(("", s.Step), out v) ? v : null,
                Events = events.TryGetValue(i, out var list) ? list : Array.Empty<KohyaTrainingEvent>(),
            };
        }
    }

    /// <summary>val_loss by (segment, step), and by ("", step) the last one written at that step.</summary>
    private static Dictionary<(string, long), double> ValidationLosses(string run)
    {
        var values = new Dictionary<(string, long), double>();
        foreach (var line in TrainingLogFiles.Lines(TrainingLogFiles.MetricLog(run)))
        {
            if (JsonLinesReader.String(line, "name") != ValidationLossMetric)
                continue;
            long step = JsonLinesReader.Int64(line, "step");
            double value = JsonLinesReader.Double(line, "value");
            values[(JsonLinesReader.String(line, "segment"), step)] = value;
            values[("", step)] = value;
        }
        return values;
    }

    /// <summary>
    /// Events by the index of the step line they belong to: the standing record of their step when it is of their
    /// segment, else the newest superseded record of their segment and step, else the standing record of their step.
    /// </summary>
    private static Dictionary<int, IReadOnlyList<KohyaTrainingEvent>> Events(string run, IReadOnlyList<StepLine> steps, bool[] superseded)
    {
        var result = new Dictionary<int, IReadOnlyList<KohyaTrainingEvent>>();
        var all = TrainingLogFiles.Lines(TrainingLogFiles.EventLog(run)).Select(TrainingLogFiles.ParseEvent).ToList();
        if (all.Count == 0)
            return result;
        var standingByStep = new Dictionary<long, int>();
        var bySegmentStep = new Dictionary<(string, long), int>();
        for (int i = 0; i < steps.Count; i++)
        {
            if (!superseded[i]) standingByStep[steps[i].Step] = i;
            else bySegmentStep[(steps[i].Segment, steps[i].Step)] = i;
        }
        foreach (var e in all)
        {
            int index;
            if (standingByStep.TryGetValue(e.Step, out int standing) && steps[standing].Segment == e.Segment) index = standing;
            else if (bySegmentStep.TryGetValue((e.Segment, e.Step), out int old)) index = old;
            else if (standingByStep.TryGetValue(e.Step, out standing)) index = standing;
            else continue;
            result[index] = result.TryGetValue(index, out var list) ? list.Append(e).ToList() : new[] { e };
        }
        return result;
    }
}
