using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring;

/// <summary>Raises a monitor event (at the current step unless <c>step</c> says otherwise): a warning (or a verbose line for events that need no attention) and the event itself.</summary>
public static class TrainingEvents
{
    public static KohyaTrainingEvent Raise(TrainingContext context, string kind, string action, string message, double? value, double? threshold, long? step = null)
    {
        var e = new KohyaTrainingEvent
        {
            Step = step ?? context.State.GlobalStep,
            Time = DateTime.UtcNow,
            Segment = context.SegmentId,
            Kind = kind,
            Action = action,
            Message = message,
            Value = value is { } v && double.IsFinite(v) ? v : null,
            Threshold = threshold,
        };
        if (action == "None")
            context.Observer.Verbose(message);
        else
            context.Observer.Warning(message);
        context.RaiseEvent(e);
        return e;
    }
}
