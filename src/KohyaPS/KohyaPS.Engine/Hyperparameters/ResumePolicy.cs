using KohyaPS.Contracts;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>What a resume will run with, and what it records about the changes.</summary>
public sealed class ResumeDecision
{
    /// <summary>The set the continuation trains with (and writes into its checkpoints).</summary>
    public required KohyaHyperparameterSet Effective { get; init; }

    /// <summary>Every applied change, one line each, for the new segment's Overrides in the lineage.</summary>
    public required IReadOnlyList<string> Records { get; init; }

    /// <summary>Warnings for the user and the lineage.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>Every difference from the checkpoint's set that was applied.</summary>
    public required IReadOnlyList<KohyaHyperparameterDifference> Applied { get; init; }

    /// <summary>Start the optimizer from fresh state instead of the checkpoint's.</summary>
    public bool ResetOptimizer { get; init; }

    /// <summary>Resources.Threads was changed on purpose: use it instead of the checkpoint's recorded thread count.</summary>
    public bool ThreadsChanged { get; init; }
}

/// <summary>
/// Decides whether a run may continue with the settings a resume asks for. The checkpoint's set is the
/// reference; the request is the requested set (or the checkpoint's), then <c>-Override</c>, then
/// <c>-Rewarm</c>, then the target (<c>-MaxSteps</c>/<c>-AdditionalSteps</c>, never drift). Then every
/// difference is judged by its impact:
/// Cosmetic — applied. Trajectory — applied only when named in <c>-Override</c> (or set by <c>-Rewarm</c> or
/// the target), or with <c>-Force</c>; refused otherwise (<c>HyperparameterDriftRefused</c>, listing each).
/// Incompatible — refused even with <c>-Force</c> (<c>HyperparameterChangeIncompatible</c>), except the
/// documented conversion: <c>-ResetOptimizer</c> lets Optimizer.Type and Model.TrainTextEncoder change, with a
/// fresh optimizer state. Every applied change becomes a line of the new segment's lineage.
/// </summary>
public static class ResumePolicy
{
    /// <summary>Incompatible options that -ResetOptimizer converts: the model weights carry over, only the optimizer state cannot.</summary>
    public static readonly IReadOnlyList<string> ResetOptimizerConverts = new[] { "Optimizer.Type", "Model.TrainTextEncoder" };

    public static ResumeDecision Decide(KohyaHyperparameterSet saved, long savedStep, ResumeRequest request)
    {
        var overrides = HyperparameterOverrides.From(request.Overrides, "-Override");
        if (request.RewarmSteps < 0)
            throw new KohyaException("InvalidRewarm", KohyaErrorKind.InvalidArgument, $"-Rewarm must be a positive number of steps (got {request.RewarmSteps}).", target: "Rewarm");
        if (request.RewarmSteps > 0 && (overrides.Names("LRSchedule.RewarmSteps") || overrides.Names("LRSchedule.RewarmStartStep")))
            throw new KohyaException("ConflictingRewarm", KohyaErrorKind.InvalidArgument,
                "Give -Rewarm or name LRSchedule.RewarmSteps/RewarmStartStep in -Override, not both.", target: "Rewarm");
        long? target = request.MaxSteps ?? (request.AdditionalSteps is { } more ? savedStep + more : null);
        if (target is not null && overrides.Names("Training.MaxSteps"))
            throw new KohyaException("ConflictingTarget", KohyaErrorKind.InvalidArgument,
                "Give the target as -MaxSteps/-AdditionalSteps or as Training.MaxSteps in -Override, not both.", target: "Training.MaxSteps");

        var effective = (request.Hyperparameters ?? saved).Clone();
        if (request.Hyperparameters is { LRSchedule: { RewarmSteps: 0, RewarmStartStep: 0 } })
        {
            // A requested set that says nothing about a re-warm keeps the checkpoint's (one may be under way).
            effective.LRSchedule.RewarmSteps = saved.LRSchedule.RewarmSteps;
            effective.LRSchedule.RewarmStartStep = saved.LRSchedule.RewarmStartStep;
        }
        overrides.ApplyTo(effective);
        if (request.RewarmSteps > 0)
        {
            effective.LRSchedule.RewarmSteps = request.RewarmSteps;
            effective.LRSchedule.RewarmStartStep = savedStep;
        }
        if (target is { } t)
            effective.Training.MaxSteps = t;
        HyperparameterValidator.Validate(effective);

        var applied = new List<KohyaHyperparameterDifference>();
        var refused = new List<KohyaHyperparameterDifference>();
        var records = new List<string>();
        var forced = new List<string>();
        foreach (var difference in HyperparameterComparer.Compare(saved, effective))
        {
            string? how = Permit(difference, overrides, request, target is not null);
            if (how is null)
            {
                refused.Add(difference);
                continue;
            }
            applied.Add(difference);
            if (how == "-Force") forced.Add(difference.Name);
            records.Add(how == TargetMarker
                ? $"{difference.Name}: {HyperparameterValues.Format(difference.Reference)} -> {HyperparameterValues.Format(difference.Difference)}"
                : $"{difference} via {how}");
        }
        if (refused.Count > 0)
            throw Refusal(refused, request.ResetOptimizer);
        if (request.ResetOptimizer)
            records.Add($"Optimizer state: reset via -ResetOptimizer ({effective.Optimizer.Type} starts from fresh state at step {savedStep})");

        var warnings = new List<string>();
        if (forced.Count > 0)
            warnings.Add($"-Force accepted {forced.Count} change(s) that alter the run's path: {string.Join(", ", forced)}.");
        return new ResumeDecision
        {
            Effective = effective,
            Records = records,
            Warnings = warnings,
            Applied = applied,
            ResetOptimizer = request.ResetOptimizer,
            ThreadsChanged = applied.Any(d => d.Name == "Resources.Threads"),
        };
    }

    private const string TargetMarker = "target";

    /// <summary>How a difference is allowed (for the record), or null when it is refused.</summary>
    private static string? Permit(KohyaHyperparameterDifference difference, HyperparameterOverrides overrides, ResumeRequest request, bool explicitTarget)
    {
        if (explicitTarget && difference.Name == "Training.MaxSteps")
            return TargetMarker;
        bool rewarm = request.RewarmSteps > 0 && difference.Name.StartsWith("LRSchedule.Rewarm", StringComparison.Ordinal);
        bool named = overrides.Names(difference.Name);
        switch (difference.Impact)
        {
            case KohyaImpact.Cosmetic:
                return named ? "-Override" : rewarm ? "-Rewarm" : "the requested set";
            case KohyaImpact.Trajectory:
                return rewarm ? "-Rewarm" : named ? "-Override" : request.Force ? "-Force" : null;
            default:
                return request.ResetOptimizer && ResetOptimizerConverts.Contains(difference.Name) ? "-ResetOptimizer" : null;
        }
    }

    private static KohyaException Refusal(IReadOnlyList<KohyaHyperparameterDifference> refused, bool resetOptimizer)
    {
        bool incompatible = refused.Any(d => d.Impact == KohyaImpact.Incompatible);
        var lines = refused.Select(d => $"  {d}: {d.Note}");
        string message = (incompatible
                ? "The requested settings cannot continue this run; the checkpoint's state does not fit them:"
                : "The requested settings would silently change this run; name each intended change in -Override or use -Force:")
            + Environment.NewLine + string.Join(Environment.NewLine, lines);
        string action;
        if (incompatible)
        {
            bool convertible = refused.Where(d => d.Impact == KohyaImpact.Incompatible).All(d => ResetOptimizerConverts.Contains(d.Name));
            action = convertible && !resetOptimizer
                ? "Add -ResetOptimizer to continue with a fresh optimizer state (the change is recorded in the lineage)."
                : "Resume with the checkpoint's values for these settings, or start a new run to change them (-Force does not apply to them).";
        }
        else
        {
            action = "Name the intended changes in -Override (for example -Override @{ '" + refused[0].Name + "' = "
                + HyperparameterValues.Format(refused[0].Difference) + " }), accept them all with -Force, or resume with the checkpoint's settings.";
        }
        return new KohyaException(incompatible ? "HyperparameterChangeIncompatible" : "HyperparameterDriftRefused",
            KohyaErrorKind.InvalidOperation, message, target: refused.ToArray())
        {
            RecommendedAction = action,
        };
    }
}
