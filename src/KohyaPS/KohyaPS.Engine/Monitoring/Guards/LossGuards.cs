using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring.Guards;

/// <summary>What a guard found and what it asks for.</summary>
/// <param name="Kind">NonFinite, Spike, ResumeJump, Plateau, Rollback.</param>
/// <param name="Action">Warn, Skip, Rollback or Stop (as carried out; a rollback beyond MaxRollbacks is a Stop).</param>
public sealed record GuardFinding(string Kind, string Action, string Message, double? Value, double? Threshold, string Reason);

/// <summary>
/// The loss guards as a pure function of the settings, their saved memory (<see cref="MonitorState"/>) and each
/// step's report — no model, no files — so they can be driven by synthetic loss series:
/// non-finite loss or gradients (the trainer has already skipped the update; after NonFiniteRollbackAfter such
/// steps within the window: rollback), spikes by robust z-score against the rolling median/MAD, a jump right
/// after a resume against the window saved before the interruption, and plateaus.
/// </summary>
public sealed class LossGuards
{
    /// <summary>Fewest losses in the window before the spike and resume-jump guards judge anything.</summary>
    public const int MinimumWindow = 10;

    private readonly MonitoringSection _settings;
    private readonly MonitorState _m;
    private List<double> _beforeResume = new();
    private readonly List<double> _afterResume = new();

    public LossGuards(MonitoringSection settings, MonitorState state, bool resumed)
    {
        _settings = settings;
        _m = state;
        // A resumed segment judges its first steps against the window the checkpoint saved.
        if (resumed)
            _beforeResume = state.RecentLosses.ToList();
    }

    /// <summary>After a rollback there is no "before the interruption" to compare with.</summary>
    public void RolledBack()
    {
        _beforeResume = new List<double>();
        _afterResume.Clear();
    }

    public IReadOnlyList<GuardFinding> Observe(StepReport report)
    {
        var findings = new List<GuardFinding>();
        _m.NonFiniteSteps.RemoveAll(s => s <= report.Step - _settings.LossSpikeWindow);
        if (report.Skipped || !double.IsFinite(report.Loss))
        {
            NonFinite(report, findings);
            return findings;
        }
        if (Spike(report, findings))
            return findings;
        Append(_m.RecentLosses, report.Loss, _settings.LossSpikeWindow);
        if (_m.NonFiniteSteps.Count == 0)
            _m.TroubleSince = null;
        ResumeJump(report, findings);
        Plateau(report, findings);
        return findings;
    }

    private void NonFinite(StepReport report, List<GuardFinding> findings)
    {
        _m.NonFiniteSteps.Add(report.Step);
        _m.TroubleSince ??= report.Step;
        int limit = _settings.NonFiniteRollbackAfter;
        bool rollback = limit > 0 && _m.NonFiniteSteps.Count >= limit;
        string what = !double.IsFinite(report.Loss) ? $"loss is {Format(report.Loss)}" : $"gradient norm is {Format(report.GradNorm)}";
        string message = $"Step {report.Step}: {what}; the update was skipped ({_m.NonFiniteSteps.Count} such step(s) in the last {_settings.LossSpikeWindow})"
            + (rollback || limit == 0 ? "." : $"; a rollback follows at {limit}.");
        findings.Add(new GuardFinding("NonFinite", "Skip", message, report.Loss, null, "non-finite steps"));
        if (rollback)
            Act("rollback", $"{_m.NonFiniteSteps.Count} non-finite steps", findings);
    }

    private bool Spike(StepReport report, List<GuardFinding> findings)
    {
        if (_settings.LossSpikeThreshold <= 0 || _m.RecentLosses.Count < Math.Min(MinimumWindow, _settings.LossSpikeWindow))
            return false;
        double z = RobustStats.ZScore(report.Loss, _m.RecentLosses);
        if (z <= _settings.LossSpikeThreshold)
            return false;
        string action = _settings.LossSpikeAction.ToLowerInvariant();
        if (action != "warn")
            _m.TroubleSince ??= report.Step;
        findings.Add(new GuardFinding("Spike", "Warn",
            string.Create(CultureInfo.InvariantCulture,
                $"Step {report.Step}: loss {report.Loss:G4} is a spike (robust z-score {z:F1} > {_settings.LossSpikeThreshold:G3} against the median {RobustStats.Median(_m.RecentLosses):G4} of the last {_m.RecentLosses.Count} steps)."),
            z, _settings.LossSpikeThreshold, "a loss spike"));
        Act(action, "a loss spike", findings);
        // A spike that is only reported still counts as data; one that is acted on stays out of the window.
        return action != "warn";
    }

    private void ResumeJump(StepReport report, List<GuardFinding> findings)
    {
        if (_settings.ResumeJumpThreshold <= 0 || _beforeResume.Count < MinimumWindow || _afterResume.Count >= _settings.ResumeJumpSteps)
            return;
        _afterResume.Add(report.Loss);
        if (_afterResume.Count < _settings.ResumeJumpSteps)
            return;
        double mean = _afterResume.Average();
        double z = RobustStats.ZScore(mean, _beforeResume, _afterResume.Count);
        if (z <= _settings.ResumeJumpThreshold)
            return;
        findings.Add(new GuardFinding("ResumeJump", "Warn",
            string.Create(CultureInfo.InvariantCulture,
                $"The mean loss of the {_afterResume.Count} steps after the resume ({mean:G4}) is well above the {_beforeResume.Count} steps before the interruption (median {RobustStats.Median(_beforeResume):G4}; robust z-score {z:F1} > {_settings.ResumeJumpThreshold:G3}): the resumed run does not continue the way it left off."),
            z, _settings.ResumeJumpThreshold, "a loss jump after the resume"));
        Act(_settings.ResumeJumpAction.ToLowerInvariant(), "a loss jump after the resume", findings);
    }

    private void Plateau(StepReport report, List<GuardFinding> findings)
    {
        int p = _settings.PlateauSteps;
        if (p <= 0)
            return;
        Append(_m.PlateauLosses, report.Loss, 2 * p);
        if (_m.PlateauLosses.Count < 2 * p || _m.PlateauReportedAt is { } last && report.Step - last < p)
            return;
        double before = _m.PlateauLosses.Take(p).Average();
        double now = _m.PlateauLosses.Skip(p).Average();
        double improvement = before > 0 ? (before - now) / before : 0;
        if (improvement >= _settings.PlateauMinDelta)
            return;
        _m.PlateauReportedAt = report.Step;
        findings.Add(new GuardFinding("Plateau", "Warn",
            string.Create(CultureInfo.InvariantCulture,
                $"Step {report.Step}: the mean loss of the last {p} steps ({now:G4}) improved by {improvement:P2} on the {p} before ({before:G4}), less than {_settings.PlateauMinDelta:P2}."),
            improvement, _settings.PlateauMinDelta, "a loss plateau"));
        Act(_settings.PlateauAction.ToLowerInvariant(), "a loss plateau", findings);
    }

    /// <summary>Turns the finding just added into the configured action; a rollback beyond MaxRollbacks becomes a stop.</summary>
    private void Act(string action, string reason, List<GuardFinding> findings)
    {
        var last = findings[^1];
        switch (action)
        {
            case "stop":
                findings[^1] = last with { Action = "Stop", Reason = reason };
                break;
            case "rollback" when _m.Rollbacks >= _settings.MaxRollbacks:
                findings[^1] = last with
                {
                    Action = "Stop",
                    Reason = $"{reason} after {_m.Rollbacks} rollback(s)",
                    Message = last.Message + $" A rollback is called for, but the run has rolled back {_m.Rollbacks} time(s) already (Monitoring.MaxRollbacks): stopping.",
                };
                break;
            case "rollback":
                findings[^1] = last with { Action = "Rollback", Reason = reason };
                break;
        }
    }

    private static void Append(List<double> window, double value, int size)
    {
        window.Add(value);
        if (window.Count > size)
            window.RemoveRange(0, window.Count - size);
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
