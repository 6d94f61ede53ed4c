using System.Globalization;

namespace KohyaPS.Engine.Training;

/// <summary>
/// Faults a test asks for through the environment, so the guards can be proven end to end in a real process:
/// <c>KOHYAPS_TEST_FAULTS=nan-loss@12,13,14</c> makes the loss of those cumulative steps NaN (it then flows
/// through backward into the gradients like a real blow-up). Each listed step fires once per process, so a
/// rolled-back run re-does it cleanly. Unset (always, outside tests): no effect.
/// </summary>
public sealed class FaultInjection
{
    public const string Variable = "KOHYAPS_TEST_FAULTS";

    public static readonly FaultInjection None = new(new HashSet<long>());

    private readonly HashSet<long> _nanLossSteps;

    private FaultInjection(HashSet<long> nanLossSteps) => _nanLossSteps = nanLossSteps;

    public static FaultInjection FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable));

    public static FaultInjection Parse(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec))
            return None;
        var steps = new HashSet<long>();
        foreach (string part in spec.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            const string prefix = "nan-loss@";
            if (!part.StartsWith(prefix, StringComparison.Ordinal))
                throw new ArgumentException($"{Variable}: unknown fault '{part}' (known: nan-loss@<step>[,<step>…]).");
            foreach (string step in part[prefix.Length..].Split(','))
                steps.Add(long.Parse(step, NumberStyles.None, CultureInfo.InvariantCulture));
        }
        return new FaultInjection(steps);
    }

    /// <summary>Whether the step about to run (1-based cumulative) gets a NaN loss; true once per listed step.</summary>
    public bool TakeNanLoss(long step) => _nanLossSteps.Remove(step);
}
