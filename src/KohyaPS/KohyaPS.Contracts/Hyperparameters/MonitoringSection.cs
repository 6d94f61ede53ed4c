using System.ComponentModel;

namespace KohyaPS.Contracts;

/// <summary>Loss logging and the loss spike guard; the guard's settings are kept with the run for the loss-monitoring work.</summary>
public sealed class MonitoringSection
{
    [Description("Write a loss record every N optimizer steps (this version logs every step; other values are kept but not acted on).")]
    [Impact(KohyaImpact.Cosmetic)]
    public int LogEveryNSteps { get; set; } = 1;

    [Description("A step whose loss exceeds this multiple of the recent mean counts as a spike; 0 disables the guard.")]
    [Impact(KohyaImpact.Cosmetic)]
    public double LossSpikeThreshold { get; set; }

    [Description("Optimizer steps in the recent mean the spike guard compares with.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int LossSpikeWindow { get; set; } = 50;

    [Description("What the spike guard does: warn, or stop (save a checkpoint and stop).")]
    [Impact(KohyaImpact.Cosmetic, CaseInsensitive = true)]
    public string LossSpikeAction { get; set; } = "warn";

    public MonitoringSection Clone() => (MonitoringSection)MemberwiseClone();
}
