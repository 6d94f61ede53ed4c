using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace KohyaPS.Engine.Precision;

/// <summary>
/// Mixed-precision training (Resources.Dtype bfloat16 or float16; TorchSharp has no autocast): the model computes in
/// the low dtype, the optimizer updates float32 masters (<see cref="MasterWeights"/>), and float16 scales the loss
/// (<see cref="DynamicLossScaler"/>). The trainer calls <see cref="Backward"/> for each micro-batch and
/// <see cref="EndStep"/> after the update; the loss itself is computed in float32 from a float32 prediction.
/// </summary>
public sealed class MixedPrecision : IDisposable
{
    private MixedPrecision(ScalarType dtype, MasterWeights weights, DynamicLossScaler? scaler)
    {
        Dtype = dtype;
        Weights = weights;
        Scaler = scaler;
    }

    /// <summary>The dtype the model computes in.</summary>
    public ScalarType Dtype { get; }

    public MasterWeights Weights { get; }

    /// <summary>The loss scaler (float16 only; bfloat16 has float32's range and needs none).</summary>
    public DynamicLossScaler? Scaler { get; }

    public IReadOnlyList<(string Name, Parameter Param)> Masters => Weights.Masters;

    public static MixedPrecision Create(ScalarType dtype, MasterWeights weights, DynamicLossScaler? scaler = null) =>
        new(dtype, weights, dtype == ScalarType.Float16 ? scaler ?? new DynamicLossScaler() : null);

    /// <summary>
    /// Back-propagates <paramref name="loss"/> (times the loss scale under float16) and moves the gradients onto the
    /// float32 masters, unscaled. Without mixed precision (<paramref name="precision"/> null) a plain backward.
    /// </summary>
    public static void Backward(MixedPrecision? precision, Tensor loss)
    {
        if (precision?.Scaler is not { } scaler)
        {
            loss.backward();
            precision?.Weights.AccumulateGradients(1);
            return;
        }
        using var scaled = loss.mul(scaler.Scale);
        scaled.backward();
        precision.Weights.AccumulateGradients(1 / scaler.Scale);
    }

    /// <summary>
    /// True when the step's gradients overflowed float16 while the loss was finite and the scale can still back off:
    /// the update is skipped and the scale halves, and the step is not a blow-up for the non-finite guard.
    /// </summary>
    public bool IsOverflow(double loss, double gradNorm) =>
        Scaler is { } s && double.IsFinite(loss) && !double.IsFinite(gradNorm) && s.CanBackOff;

    /// <summary>After the step: casts the updated masters into the compute weights and tells the scaler the outcome.</summary>
    public void EndStep(bool updated, bool overflowed)
    {
        if (updated)
            Weights.CopyToCompute();
        if (overflowed || updated)
            Scaler?.Update(overflowed);
    }

    /// <summary>Puts a checkpoint's scaler state back (resume, rollback); float16 checkpoints carry one.</summary>
    public void RestoreScaler(LossScalerState? state, string source)
    {
        if (Scaler is null)
            return;
        if (state is null)
            throw new KohyaException("CheckpointStateInvalid", KohyaErrorKind.InvalidData,
                $"'{source}' was saved without the float16 loss scaler's state; resuming would restart the scale and change the run.", target: source);
        Scaler.Restore(state, source);
    }

    public void Dispose() => Weights.Dispose();
}
