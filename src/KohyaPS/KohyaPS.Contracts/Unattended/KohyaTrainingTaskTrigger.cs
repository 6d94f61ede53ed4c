namespace KohyaPS.Contracts;

/// <summary>When a registered training task runs.</summary>
public enum KohyaTrainingTaskTrigger
{
    /// <summary>When the machine starts (Windows boot trigger; systemd: the user manager or the system starts).</summary>
    AtStartup,

    /// <summary>When the user logs on.</summary>
    AtLogOn,

    /// <summary>Every day at -At's time of day.</summary>
    Daily,

    /// <summary>Once, at -At.</summary>
    Once,
}
