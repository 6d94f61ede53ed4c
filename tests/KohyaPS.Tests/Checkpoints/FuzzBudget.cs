namespace KohyaPS.Tests.Checkpoints;

/// <summary>How many fuzz cases a test runs: the normal count, ten times more with KOHYAPS_LONG_FUZZ=1.</summary>
internal static class FuzzBudget
{
    public static bool Long => Environment.GetEnvironmentVariable("KOHYAPS_LONG_FUZZ") == "1";

    public static int Cases(int normal) => Long ? normal * 10 : normal;
}
