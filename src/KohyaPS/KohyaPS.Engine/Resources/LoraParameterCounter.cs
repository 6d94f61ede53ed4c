using KohyaPS.Engine.Models;

namespace KohyaPS.Engine.Resources;

/// <summary>
/// LoRA parameters for kohya's standard module set, counted from the base model's weight shapes: every linear and
/// 1×1 convolution inside the UNet's Transformer2DModels (<c>proj_in</c>, <c>proj_out</c>, <c>to_q</c>, <c>to_k</c>,
/// <c>to_v</c>, <c>to_out.0</c>, <c>ff.net.0.proj</c>, <c>ff.net.2</c>) and the text encoder's attention and MLP
/// (<c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>out_proj</c>, <c>fc1</c>, <c>fc2</c>). A module of in → out
/// features gets <c>lora_down</c> [rank, in] and <c>lora_up</c> [out, rank]: rank·(in + out) parameters (the alpha
/// scalar is not trained). This is an estimate read from the Network section's rank only; the injected set the
/// training code uses may differ when Network.TargetModules narrows or widens it.
/// </summary>
public static class LoraParameterCounter
{
    public static long UNet(UNetConfig config, int rank) => UNet(config.ParameterShapes(), rank);

    /// <param name="shapes">The UNet's state-dict shapes (<see cref="UNetConfig.ParameterShapes"/>).</param>
    public static long UNet(IReadOnlyDictionary<string, long[]> shapes, int rank) =>
        Count(shapes, rank, k => k.Contains(".attentions.", StringComparison.Ordinal));

    public static long TextEncoder(TextEncoderConfig config, int rank) => TextEncoder(config.ParameterShapes(), rank);

    /// <param name="shapes">The text encoder's state-dict shapes (<see cref="TextEncoderConfig.ParameterShapes"/>).</param>
    public static long TextEncoder(IReadOnlyDictionary<string, long[]> shapes, int rank) =>
        Count(shapes, rank, k => k.Contains(".self_attn.", StringComparison.Ordinal) || k.Contains(".mlp.", StringComparison.Ordinal));

    private static long Count(IReadOnlyDictionary<string, long[]> shapes, int rank, Func<string, bool> inTarget)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rank);
        long total = 0;
        foreach (var (key, shape) in shapes)
        {
            if (!key.EndsWith(".weight", StringComparison.Ordinal) || !inTarget(key))
                continue;
            bool linear = shape.Length == 2;
            bool pointwise = shape.Length == 4 && shape[2] == 1 && shape[3] == 1;
            if (linear || pointwise)
                total += rank * (shape[0] + shape[1]);
        }
        return total;
    }
}
