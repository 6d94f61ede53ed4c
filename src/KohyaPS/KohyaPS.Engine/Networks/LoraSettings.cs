using KohyaPS.Contracts;

namespace KohyaPS.Engine.Networks;

/// <summary>The shape of a LoRA network, resolved from the Network section of a hyperparameter set.</summary>
public sealed record LoraSettings
{
    public const string NetworkType = "lora";

    /// <summary>Rank of every adapter (kohya network_dim).</summary>
    public required int Rank { get; init; }

    /// <summary>Alpha as stored with every adapter; the update is scaled by Alpha / Rank.</summary>
    public required double Alpha { get; init; }

    /// <summary>Dropout probability on the rank-space activations while training.</summary>
    public double Dropout { get; init; }

    /// <summary>The layer groups that get adapters, in a fixed order.</summary>
    public required IReadOnlyList<LoraTarget> Targets { get; init; }

    public double Scale => Alpha / Rank;

    public static bool IsLora(NetworkSection? network) =>
        network is not null && network.Type.Equals(NetworkType, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The settings of a LoRA section (null for Network.Type none). Alpha 0 means Alpha = Dim, as in kohya.
    /// <see cref="KohyaException"/> <c>InvalidHyperparameter</c> for a rank, alpha, dropout or target that cannot be used.
    /// </summary>
    public static LoraSettings? From(NetworkSection? network, bool trainTextEncoder)
    {
        if (!IsLora(network))
            return null;
        var problems = new List<string>();
        if (network!.Dim is < 1 or > 1024)
            problems.Add($"Network.Dim must be between 1 and 1024 (got {network.Dim}).");
        if (!(network.Alpha >= 0 && double.IsFinite(network.Alpha)))
            problems.Add($"Network.Alpha must be 0 or a positive number (got {network.Alpha}).");
        problems.AddRange(Problems(network, trainTextEncoder, out var targets));
        if (problems.Count > 0)
            throw new KohyaException("InvalidHyperparameter", KohyaErrorKind.InvalidArgument,
                "Invalid hyperparameters: " + string.Join(" ", problems), target: problems[0].Split(' ')[0])
            {
                RecommendedAction = "Correct the named Network options (Get-Help about_KohyaPS_Hyperparameters lists every option).",
            };
        return new LoraSettings
        {
            Rank = network!.Dim,
            Alpha = network.Alpha == 0 ? network.Dim : network.Alpha,
            Dropout = network.Dropout,
            Targets = targets,
        };
    }

    /// <summary>
    /// What is wrong with a LoRA section's dropout and targets (rank and alpha are checked with every set), one
    /// sentence per problem, each starting with the option's name; <paramref name="targets"/> gets the groups chosen.
    /// </summary>
    public static IReadOnlyList<string> Problems(NetworkSection network, bool trainTextEncoder, out IReadOnlyList<LoraTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(network);
        var problems = new List<string>();
        if (!(network.Dropout is >= 0 and < 1))
            problems.Add($"Network.Dropout must be at least 0 and below 1 (got {network.Dropout}).");
        var names = network.TargetModules ?? Array.Empty<string>();
        var unknown = names.Where(n => n is null || !LoraTargets.Names.ContainsKey(n)).ToList();
        if (unknown.Count > 0)
            problems.Add($"Network.TargetModules names unknown targets ({string.Join(", ", unknown.Select(u => $"'{u}'"))}); known: {string.Join(", ", LoraTargets.Names.Keys)}.");
        var chosen = names.Length == 0
            ? LoraTargets.Standard(trainTextEncoder).ToHashSet()
            : names.Where(n => n is not null && LoraTargets.Names.ContainsKey(n)).SelectMany(n => LoraTargets.Names[n]).ToHashSet();
        if (!trainTextEncoder && chosen.Any(LoraTargets.IsTextEncoder))
            problems.Add("Network.TargetModules names text-encoder targets, but Model.TrainTextEncoder is false.");
        targets = Enum.GetValues<LoraTarget>().Where(chosen.Contains).ToArray();
        return problems;
    }
}
