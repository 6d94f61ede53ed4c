using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace KohyaPS.Engine.Models;

/// <summary>
/// Gradient checkpointing for one segment of the network (a UNet block): the forward runs without keeping the
/// segment's activations, and backward runs the segment again with gradients on, then back-propagates through the
/// recomputation. Parameters inside the segment receive their gradients from that inner backward; the segment's
/// tensor inputs get theirs as this function's result.
/// </summary>
/// <remarks>
/// <para>The recomputation replays the default generator's state from the forward, so dropout (LoRA's) draws the same
/// masks, and puts the generator back afterwards.</para>
/// <para>Bitwise-equal gradients also need the same order of floating-point sums. Inputs that several segments share
/// (the time embedding, the text conditioning) would otherwise receive one pre-summed gradient per segment instead of
/// one contribution per consumer. So those inputs are <em>chained</em>: a segment hands them on as extra outputs, the
/// next consumers use those, and in backward the running gradient of all later consumers starts the input's sum
/// before the recomputation adds this segment's own contributions one at a time — the same left-to-right sum an
/// unsplit graph does.</para>
/// </remarks>
public sealed class ActivationCheckpoint : MultiTensorFunction<ActivationCheckpoint>
{
    private const string BodyKey = "body";
    private const string ChainKey = "chain";
    private const string RngKey = "rng";
    private const string NeedsGradKey = "needsGrad";

    public override string Name => nameof(ActivationCheckpoint);

    /// <summary>
    /// Runs <paramref name="body"/> over <paramref name="inputs"/> checkpointed. The result is the body's outputs,
    /// followed — for each index in <paramref name="chained"/> — by a copy of that input for the next segment to use.
    /// Without gradient mode (sampling, validation) the body simply runs.
    /// </summary>
    public static IReadOnlyList<Tensor> Run(Func<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>> body, IReadOnlyList<Tensor> inputs, IReadOnlyList<int> chained)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(inputs);
        if (!torch.is_grad_enabled())
            return body(inputs).Concat(chained.Select(i => inputs[i].alias())).ToList();
        var args = new object[] { body, chained.ToArray() }.Concat(inputs).ToArray();
        return apply(args);
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var body = (Func<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>>)vars[0];
        var chained = (int[])vars[1];
        var inputs = vars.Skip(2).Cast<Tensor>().ToList();
        using (var rng = torch.random.get_rng_state())
            ctx.save_data(RngKey, rng.data<byte>().ToArray());
        ctx.save_data(BodyKey, body);
        ctx.save_data(ChainKey, chained);
        ctx.save_data(NeedsGradKey, inputs.Select(t => t.requires_grad).ToArray());
        ctx.save_for_backward(inputs);
        ctx.set_materialize_grads(false);
        using var scope = torch.NewDisposeScope();
        var outputs = body(inputs).Concat(chained.Select(i => inputs[i].alias())).ToList(); // views: handing on copies nothing
        foreach (var o in outputs) o.MoveToOuterDisposeScope();
        return outputs;
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
    {
        var body = (Func<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>>)ctx.get_data(BodyKey);
        var chained = (int[])ctx.get_data(ChainKey);
        var needsGrad = (bool[])ctx.get_data(NeedsGradKey);
        var savedRng = (byte[])ctx.get_data(RngKey);
        using var scope = torch.NewDisposeScope();
        var leaves = ctx.get_saved_variables().Select((t, i) => t.detach().requires_grad_(needsGrad[i])).ToList();
        var bodyInputs = leaves.ToList();
        var roots = new List<Tensor>();
        var rootGrads = new List<Tensor>();
        int bodyOutputs = gradOutputs.Count - chained.Length;
        // The gradient of every later consumer of a chained input arrives on its copy. It must start that input's sum,
        // before this segment's own contributions are added one by one: so the segment sees the input through a view,
        // and the later gradient enters as that view's root gradient (roots run first).
        var current = torch.random.get_rng_state();
        IReadOnlyList<Tensor> outputs;
        try
        {
            using (var seeded = torch.tensor(savedRng, ScalarType.Byte))
                torch.random.set_rng_state(seeded);
            using var grad = torch.enable_grad();
            for (int c = 0; c < chained.Length; c++)
            {
                int i = chained[c];
                var later = gradOutputs[bodyOutputs + c];
                if (!needsGrad[i] || !Defined(later))
                    continue;
                bodyInputs[i] = leaves[i].view(leaves[i].shape);
                roots.Add(bodyInputs[i]);
                rootGrads.Add(later);
            }
            outputs = body(bodyInputs);
        }
        finally
        {
            torch.random.set_rng_state(current);
        }
        for (int i = 0; i < bodyOutputs; i++)
        {
            if (Defined(gradOutputs[i]) && outputs[i].requires_grad)
            {
                roots.Add(outputs[i]);
                rootGrads.Add(gradOutputs[i]);
            }
        }
        if (roots.Count > 0)
            torch.autograd.backward(roots, rootGrads);
        var result = new List<Tensor>();
        for (int i = 0; i < leaves.Count; i++)
        {
            var g = needsGrad[i] ? leaves[i].grad : null;
            result.Add(g?.MoveToOuterDisposeScope()!);
        }
        return new List<Tensor> { null!, null! }.Concat(result).ToList();
    }

    private static bool Defined(Tensor? t) => t is not null && !t.IsInvalid;
}
