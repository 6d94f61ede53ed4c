using KohyaPS.Contracts;
using KohyaPS.Engine.Optim;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>
/// Lists every option that differs between two sets, with what the change does to a run continuing from a
/// checkpoint of the reference: the option's <see cref="ImpactAttribute"/> class, except that an option neither
/// set uses (NumCycles when neither schedule is cosine_with_restarts, Momentum when neither optimizer is SGD,
/// Network.Dim when neither set has a LoRA, …) changes nothing and is Cosmetic.
/// </summary>
public static class HyperparameterComparer
{
    /// <summary>When an option matters; an option missing here always matters.</summary>
    private static readonly Dictionary<string, Func<KohyaHyperparameterSet, bool>> UsedWhen = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Network.Dim"] = IsLora,
        ["Network.Alpha"] = IsLora,
        ["Network.TargetModules"] = IsLora,
        ["Network.Dropout"] = IsLora,
        ["Network.UnetLearningRate"] = IsLora,
        ["Network.TextEncoderLearningRate"] = IsLora,
        ["Optimizer.Epsilon"] = s => OptimizerIs(s, OptimizerFactory.AdamW) || OptimizerIs(s, OptimizerFactory.Adam),
        ["Optimizer.Momentum"] = s => OptimizerIs(s, OptimizerFactory.Sgd),
        ["Optimizer.Nesterov"] = s => OptimizerIs(s, OptimizerFactory.Sgd),
        ["LRSchedule.NumCycles"] = s => ScheduleIs(s, LrSchedule.CosineWithRestarts),
        ["LRSchedule.Power"] = s => ScheduleIs(s, LrSchedule.Polynomial),
        ["LRSchedule.RewarmStartStep"] = s => s.LRSchedule.RewarmSteps > 0,
        // The rate of constant schedules does not depend on the run's length; the others stretch with it.
        ["Training.MaxSteps"] = s => !ScheduleIs(s, LrSchedule.Constant) && !ScheduleIs(s, LrSchedule.ConstantWithWarmup),
        ["Data.MinBucketReso"] = s => s.Data.EnableBucket,
        ["Data.MaxBucketReso"] = s => s.Data.EnableBucket,
        ["Data.BucketResoSteps"] = s => s.Data.EnableBucket,
        ["Data.BucketNoUpscale"] = s => s.Data.EnableBucket,
    };

    public static IReadOnlyList<KohyaHyperparameterDifference> Compare(KohyaHyperparameterSet reference, KohyaHyperparameterSet difference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(difference);
        var result = new List<KohyaHyperparameterDifference>();
        foreach (var option in HyperparameterSchema.Options)
        {
            object? a = option.Get(reference), b = option.Get(difference);
            if (HyperparameterValues.AreEqual(option, a, b))
                continue;
            var (impact, note) = Classify(option, reference, difference);
            result.Add(new KohyaHyperparameterDifference { Name = option.Path, Reference = a, Difference = b, Impact = impact, Note = note });
        }
        return result;
    }

    /// <summary>The impact of a change of <paramref name="option"/> between the two sets, and why.</summary>
    public static (KohyaImpact Impact, string Note) Classify(HyperparameterOption option, KohyaHyperparameterSet reference, KohyaHyperparameterSet difference)
    {
        if (UsedWhen.TryGetValue(option.Path, out var used) && !used(reference) && !used(difference))
            return (KohyaImpact.Cosmetic, "not used by either set's configuration");
        return (option.Impact, option.Impact switch
        {
            KohyaImpact.Cosmetic => "changes no training step",
            KohyaImpact.Trajectory => "the run continues from the same state along another path",
            _ => "the saved state cannot carry over",
        });
    }

    private static bool IsLora(KohyaHyperparameterSet s) => s.Network.Type.Equals("lora", StringComparison.OrdinalIgnoreCase);

    private static bool OptimizerIs(KohyaHyperparameterSet s, string type) => s.Optimizer.Type.Equals(type, StringComparison.OrdinalIgnoreCase);

    private static bool ScheduleIs(KohyaHyperparameterSet s, string name) => s.LRSchedule.Name.Equals(name, StringComparison.OrdinalIgnoreCase);
}
