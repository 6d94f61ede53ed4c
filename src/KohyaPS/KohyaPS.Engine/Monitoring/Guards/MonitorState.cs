namespace KohyaPS.Engine.Monitoring.Guards;

/// <summary>
/// What the loss guards and the validation remember, saved in every checkpoint's state.json (<c>monitors</c>)
/// so a resumed run judges its first steps against the steps before the interruption, keeps its reduced
/// learning rate after a rollback, and continues early stopping where it was.
/// </summary>
public sealed class MonitorState
{
    /// <summary>The finite losses of the last LossSpikeWindow steps, oldest first.</summary>
    public List<double> RecentLosses { get; set; } = new();

    /// <summary>Steps whose loss or gradients were not finite (skipped), within the window.</summary>
    public List<long> NonFiniteSteps { get; set; } = new();

    /// <summary>The first step of the trouble a rollback would undo (a rollback goes to a checkpoint before it).</summary>
    public long? TroubleSince { get; set; }

    public int Rollbacks { get; set; }

    /// <summary>Product of the rollback learning-rate factors so far; multiplies the scheduled rate.</summary>
    public double LearningRateScale { get; set; } = 1;

    public double? BestValidationLoss { get; set; }

    public long? BestValidationStep { get; set; }

    public int ValidationsWithoutImprovement { get; set; }

    public double? LastValidationLoss { get; set; }

    public long? LastValidationStep { get; set; }

    /// <summary>The finite losses of the last 2 × PlateauSteps steps, oldest first.</summary>
    public List<double> PlateauLosses { get; set; } = new();

    /// <summary>The step the plateau guard last fired at (it fires once per plateau window).</summary>
    public long? PlateauReportedAt { get; set; }

    public MonitorState Clone()
    {
        var copy = (MonitorState)MemberwiseClone();
        copy.RecentLosses = RecentLosses.ToList();
        copy.NonFiniteSteps = NonFiniteSteps.ToList();
        copy.PlateauLosses = PlateauLosses.ToList();
        return copy;
    }
}
