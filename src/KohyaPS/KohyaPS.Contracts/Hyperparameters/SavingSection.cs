using System.ComponentModel;

namespace KohyaPS.Contracts;

public sealed class SavingSection
{
    [Description("Write a checkpoint every N optimizer steps; 0 disables.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int SaveEveryNSteps { get; set; } = 100;

    [Description("Write a checkpoint at the end of every N epochs; 0 disables.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int SaveEveryNEpochs { get; set; }

    [Description("Keep only the newest N checkpoints; 0 keeps all.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int KeepLast { get; set; }

    [Description("Also keep every checkpoint whose step is a multiple of M, permanently; 0 disables.")]
    [Impact(KohyaImpact.Cosmetic)]
    public int KeepEvery { get; set; }

    [Description("Write checkpoints on a background thread so training does not wait on disk.")]
    [Impact(KohyaImpact.Cosmetic)]
    public bool AsyncSave { get; set; } = true;

    public SavingSection Clone() => (SavingSection)MemberwiseClone();
}
