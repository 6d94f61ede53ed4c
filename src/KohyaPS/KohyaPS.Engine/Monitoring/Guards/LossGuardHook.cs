using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring.Guards;

/// <summary>
/// Runs <see cref="LossGuards"/> after every step and carries out what they ask: every finding becomes an event
/// (warning, events.jsonl, result object); Stop asks the run to save and stop; Rollback asks the trainer to
/// restore the newest good checkpoint before the trouble (<see cref="RollbackExecutor"/>).
/// </summary>
public sealed class LossGuardHook : ITrainingHook
{
    private LossGuards? _guards;

    public void OnRunStarted(TrainingContext context) =>
        _guards = new LossGuards(context.Hyperparameters.Monitoring, context.Monitors, resumed: context.State.GlobalStep > 0);

    public void OnRolledBack(TrainingContext context, RollbackReport report) => _guards?.RolledBack();

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        if (_guards is null)
            return;
        foreach (var finding in _guards.Observe(report))
        {
            TrainingEvents.Raise(context, finding.Kind, finding.Action, finding.Message, finding.Value, finding.Threshold);
            if (finding.Action == "Stop")
                context.RequestStop(finding.Reason);
            else if (finding.Action == "Rollback")
                context.RequestRollback(new RollbackRequest(finding.Reason, context.Monitors.TroubleSince ?? report.Step));
        }
    }
}
