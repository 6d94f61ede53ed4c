using System.Diagnostics;
using KohyaPS.Engine.Optim;
using KohyaPS.Engine.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Training;

/// <summary>
/// The training loop, and nothing else: one optimizer step at a time until the target step, a stop
/// request from a hook, or cancellation (checked between steps, so a step is always finished). Logging,
/// progress, checkpointing and monitors attach as <see cref="ITrainingHook"/>s.
/// </summary>
public sealed class Trainer
{
    private readonly TrainingContext _context;
    private readonly IReadOnlyList<ITrainingHook> _hooks;
    private readonly Func<RollbackRequest, RollbackReport?>? _rollback;

    public Trainer(TrainingContext context, IReadOnlyList<ITrainingHook> hooks, Func<RollbackRequest, RollbackReport?>? rollback = null)
    {
        _context = context;
        _hooks = hooks;
        _rollback = rollback;
    }

    /// <summary>Runs to the target; returns Completed or Stopped (with the reason in <paramref name="reason"/>).</summary>
    public string Run(CancellationToken cancellation, out string? reason)
    {
        foreach (var hook in _hooks) hook.OnRunStarted(_context);
        string status = "Completed";
        reason = null;
        while (_context.State.GlobalStep < _context.TargetStep)
        {
            if (cancellation.IsCancellationRequested)
            {
                status = "Stopped";
                reason = "cancelled";
                break;
            }
            int epochBefore = _context.State.Epoch;
            var report = Step();
            foreach (var hook in _hooks) hook.OnStepEnded(_context, report);
            for (int e = epochBefore; e < _context.State.Epoch; e++)
                foreach (var hook in _hooks) hook.OnEpochEnded(_context, e);
            if (_context.TakeRollbackRequest() is { } rollback)
                RollBack(rollback);
            if (_context.StopRequest is not null)
            {
                status = "Stopped";
                reason = _context.StopRequest;
                break;
            }
        }
        foreach (var hook in _hooks) hook.OnRunEnded(_context, status);
        return status;
    }

    private void RollBack(RollbackRequest request)
    {
        var report = _rollback?.Invoke(request);
        if (report is null)
        {
            Monitoring.TrainingEvents.Raise(_context, "Rollback", "Stop",
                $"A rollback was needed after {request.Reason}, but no complete, verified checkpoint before step {request.BeforeStep} exists; stopping.", null, null);
            _context.RequestStop($"{request.Reason} with no checkpoint to roll back to");
            return;
        }
        foreach (var hook in _hooks) hook.OnRolledBack(_context, report);
    }

    /// <summary>One optimizer step: accumulate gradients over micro-batches, clip, schedule, update.</summary>
    private StepReport Step()
    {
        var clock = Stopwatch.StartNew();
        var hp = _context.Hyperparameters;
        var state = _context.State;
        int accumulation = hp.Data.GradientAccumulationSteps;
        double lossSum = 0;
        int samples = 0;
        int lastEpoch = state.Epoch;

        using (var scope = NewDisposeScope())
        {
            // Every random draw of this step derives from (seed, step): resume needs no generator state.
            ulong stepSeed = StepSeeds.For(hp.Training.Seed, state.GlobalStep);
            torch.manual_seed((long)(stepSeed & long.MaxValue));
            using var generator = new Generator(stepSeed, _context.Model.Device);
            for (int micro = 0; micro < accumulation; micro++)
            {
                lastEpoch = state.Epoch;
                var batch = _context.Inputs.Load(state.Epoch, state.BatchInEpoch, generator);
                var x0 = batch.X0;
                var noise = _context.Objective.SampleNoise(x0, generator);
                var timesteps = _context.Objective.SampleTimesteps(x0.shape[0], x0.device, generator);
                var noisy = _context.Objective.Schedule.AddNoise(x0, noise, timesteps);
                var prediction = _context.Model.Predict(noisy, timesteps, batch.Captions);
                var target = _context.Objective.Target(x0, noise, timesteps);
                var loss = _context.Objective.Loss(prediction, target, timesteps);
                if (micro == 0 && _context.Faults.TakeNanLoss(state.GlobalStep + 1))
                    loss = loss * float.NaN;
                MixedPrecision.Backward(_context.Model.Precision, loss / accumulation);
                lossSum += loss.item<float>();
                samples += (int)x0.shape[0];
                Advance(state);
            }
        }

        double gradNorm = GradientClipping.ClipByTotalNorm(_context.Model.TrainableParameters.Select(p => p.Param), hp.Optimizer.MaxGradNorm);
        double lr = _context.LearningRateAt(state.GlobalStep);
        // A non-finite loss or gradient would poison the weights and the optimizer's moments: skip the update.
        // A float16 overflow (finite loss, non-finite scaled gradients) is the loss scale's doing, not a blow-up: skip it and back off.
        bool overflow = _context.Model.Precision?.IsOverflow(lossSum, gradNorm) ?? false;
        bool skipped = !overflow && (!double.IsFinite(lossSum) || !double.IsFinite(gradNorm));
        if (!skipped && !overflow)
            _context.Optimizer.Step(lr);
        _context.Optimizer.ZeroGrad();
        _context.Model.Precision?.EndStep(updated: !skipped && !overflow, overflow);
        if (overflow)
            Monitoring.TrainingEvents.Raise(_context, "LossScaleOverflow", "Skip",
                $"Step {state.GlobalStep + 1}: float16 gradients overflowed; the update was skipped and the loss scale lowered to {_context.Model.Precision!.Scaler!.Scale}.",
                _context.Model.Precision.Scaler.Scale, null, state.GlobalStep + 1);
        state.GlobalStep++;
        state.SamplesSeen += samples;
        return new StepReport(state.GlobalStep, lastEpoch, lossSum / accumulation, lr, gradNorm, samples, clock.Elapsed.TotalSeconds, skipped);
    }

    private void Advance(TrainingState state)
    {
        state.MicroBatches++;
        state.BatchInEpoch++;
        if (state.BatchInEpoch >= _context.Data.BatchesPerEpoch(state.Epoch))
        {
            state.Epoch++;
            state.BatchInEpoch = 0;
        }
    }
}

/// <summary>Seeds derived from (run seed, step) with SplitMix64, stable across platforms and versions.</summary>
public static class StepSeeds
{
    public static ulong For(long seed, long step)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)step + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
