using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// The conditional UNet of Stable Diffusion 1.x with diffusers' <c>UNet2DConditionModel</c> layout: field
/// names are the state-dict names (<c>conv_in</c>, <c>time_embedding.linear_1</c>,
/// <c>down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k</c>, …), so diffusers weights map one to one.
/// Weights are initialised from torch's default generator (PyTorch's default layer inits; norms 1/0):
/// <c>torch.manual_seed(s)</c> before construction gives identical weights.
/// </summary>
public sealed class UNet2DConditionModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly Timesteps time_proj;
    private readonly TimestepEmbedding time_embedding;
    private readonly ModuleList<UNetDownBlock> down_blocks;
    private readonly UNetMidBlock2DCrossAttn mid_block;
    private readonly ModuleList<UNetUpBlock> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;

    /// <summary>Builds the UNet; throws <see cref="KohyaException"/> "InvalidModelConfig" for a bad config.</summary>
    /// <param name="config">The shape; validated here.</param>
    /// <param name="device">Where to create the weights (null: CPU; <c>meta</c>: shapes only).</param>
    /// <param name="dtype">Weight dtype (null: the default, float32).</param>
    public UNet2DConditionModel(UNetConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(UNet2DConditionModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;

        var channels = config.BlockOutChannels;
        int levels = config.Levels;
        long temb = config.TimeEmbeddingDim;
        long groups = config.NormNumGroups;
        double eps = config.NormEps;

        conv_in = nn.Conv2d(config.InChannels, channels[0], 3, stride: 1, padding: 1, device: device, dtype: dtype);
        time_proj = new Timesteps(channels[0], flipSinToCos: true, freqShift: 0);
        time_embedding = new TimestepEmbedding(channels[0], temb, device, dtype);

        var downs = new UNetDownBlock[levels];
        for (int i = 0; i < levels; i++)
        {
            long input = i == 0 ? channels[0] : channels[i - 1];
            bool last = i == levels - 1;
            downs[i] = config.DownBlockTypes[i] switch
            {
                DownBlockType.CrossAttnDownBlock2D => new CrossAttnDownBlock2D(input, channels[i], temb, config.LayersPerBlock, !last,
                    config.AttentionHeads[i], config.CrossAttentionDim, config.TransformerLayersPerBlock, groups, eps, device, dtype),
                _ => new DownBlock2D(input, channels[i], temb, config.LayersPerBlock, !last, groups, eps, device, dtype),
            };
        }
        down_blocks = nn.ModuleList(downs);

        mid_block = new UNetMidBlock2DCrossAttn(channels[levels - 1], temb, config.AttentionHeads[levels - 1],
            config.CrossAttentionDim, config.TransformerLayersPerBlock, groups, eps, device, dtype);

        var ups = new UNetUpBlock[levels];
        for (int i = 0; i < levels; i++)
        {
            int level = levels - 1 - i;                               // the down level this up level mirrors
            long output = channels[level];
            long previous = channels[Math.Min(level + 1, levels - 1)]; // hidden states arriving from below
            long skipIn = channels[Math.Max(level - 1, 0)];           // the last skip: this level's input width
            bool last = i == levels - 1;
            int layers = config.LayersPerBlock + 1;
            ups[i] = config.UpBlockTypes[i] switch
            {
                UpBlockType.CrossAttnUpBlock2D => new CrossAttnUpBlock2D(skipIn, previous, output, temb, layers, !last,
                    config.AttentionHeads[level], config.CrossAttentionDim, config.TransformerLayersPerBlock, groups, eps, device, dtype),
                _ => new UpBlock2D(skipIn, previous, output, temb, layers, !last, groups, eps, device, dtype),
            };
        }
        up_blocks = nn.ModuleList(ups);

        conv_norm_out = ModelLayers.GroupNorm(groups, channels[0], eps, device, dtype);
        conv_out = nn.Conv2d(channels[0], config.OutChannels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>
    /// Recompute each down, mid and up block in backward instead of keeping its activations (<see cref="ActivationCheckpoint"/>):
    /// less memory, one more forward per step, the same gradients bit for bit. Only while gradients are recorded.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    // A down or mid block hands on all three inputs: the time embedding and text states to the next block, its input
    // hidden state (also a skip) to the up block that consumes it. Every tensor with several consumers then reaches each
    // checkpointed block's backward with the gradient of its later consumers, and sums in an unsplit graph's order.
    private static readonly int[] Chain = { 0, 1, 2 };

    /// <summary>The (validated) shape this model was built from.</summary>
    public UNetConfig Config { get; }

    /// <summary>Predicts the noise (or v) for a noisy sample.</summary>
    /// <param name="sample">[B, in_channels, H, W] noisy sample.</param>
    /// <param name="timesteps">[B] timesteps, integer or float (a scalar or [1] is broadcast over the batch).</param>
    /// <param name="encoderHiddenStates">[B, S, cross_attention_dim] text conditioning.</param>
    /// <returns>[B, out_channels, H, W] in the sample's dtype.</returns>
    public override Tensor forward(Tensor sample, Tensor timesteps, Tensor encoderHiddenStates)
    {
        CheckInputs(sample, timesteps, encoderHiddenStates);
        using var scope = torch.NewDisposeScope();
        long batch = sample.shape[0];
        // Inputs enter in the weights' dtype (bfloat16/float16 under mixed precision); the output leaves in the sample's.
        var inputDtype = sample.dtype;
        var dtype = conv_in.weight!.dtype;
        if (inputDtype != dtype)
            sample = sample.to_type(dtype);
        if (encoderHiddenStates.dtype != dtype)
            encoderHiddenStates = encoderHiddenStates.to_type(dtype);

        var t = timesteps.dim() == 0 ? timesteps.reshape(1) : timesteps;
        if (t.shape[0] != batch)
            t = t.expand(batch);
        var tProj = time_proj.forward(t).to_type(sample.dtype);
        var emb = time_embedding.forward(tProj);

        var h = conv_in.forward(sample);
        var skips = new List<Tensor> { h };
        var checkpoint = GradientCheckpointing && torch.is_grad_enabled();
        foreach (var block in down_blocks)
        {
            if (checkpoint)
            {
                // Outputs: the block's skips (the last is the hidden state), then its three inputs handed on.
                var outputs = ActivationCheckpoint.Run(x => block.forward(x[0], x[1], x[2]).Skips, new[] { h, emb, encoderHiddenStates }, Chain);
                skips[^1] = outputs[^3]; // the up path takes the input skip from the hand-on (see Chain)
                skips.AddRange(outputs.Take(outputs.Count - 3));
                (h, emb, encoderHiddenStates) = (skips[^1], outputs[^2], outputs[^1]);
                continue;
            }
            var (hidden, blockSkips) = block.forward(h, emb, encoderHiddenStates);
            h = hidden;
            skips.AddRange(blockSkips);
        }

        if (checkpoint)
        {
            var outputs = ActivationCheckpoint.Run(x => new[] { mid_block.forward(x[0], x[1], x[2]) }, new[] { h, emb, encoderHiddenStates }, Chain);
            skips[^1] = outputs[1];
            (h, emb, encoderHiddenStates) = (outputs[0], outputs[2], outputs[3]);
        }
        else
        {
            h = mid_block.forward(h, emb, encoderHiddenStates);
        }

        for (int b = 0; b < up_blocks.Count; b++)
        {
            var block = up_blocks[b];
            int n = block.ResnetCount;
            var own = skips.GetRange(skips.Count - n, n);
            skips.RemoveRange(skips.Count - n, n);
            long[]? upsampleSize = skips.Count > 0 ? new[] { skips[^1].shape[2], skips[^1].shape[3] } : null;
            if (checkpoint)
            {
                // Inputs: hidden, the level's skips, time embedding, text states; the last level chains nothing on.
                var inputs = new List<Tensor> { h };
                inputs.AddRange(own);
                inputs.Add(emb);
                inputs.Add(encoderHiddenStates);
                bool last = b == up_blocks.Count - 1;
                var outputs = ActivationCheckpoint.Run(x => new[] { block.forward(x[0], x.Skip(1).Take(n).ToList(), x[n + 1], x[n + 2], upsampleSize) },
                    inputs, last ? Array.Empty<int>() : new[] { n + 1, n + 2 });
                h = outputs[0];
                if (!last)
                    (emb, encoderHiddenStates) = (outputs[1], outputs[2]);
                continue;
            }
            h = block.forward(h, own, emb, encoderHiddenStates, upsampleSize);
        }

        var normed = conv_norm_out.forward(h);
        var activated = nn.functional.silu(normed);
        var output = conv_out.forward(activated);
        if (output.dtype != inputDtype)
            output = output.to_type(inputDtype);
        return output.MoveToOuterDisposeScope();
    }

    private void CheckInputs(Tensor sample, Tensor timesteps, Tensor encoderHiddenStates)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timesteps);
        ArgumentNullException.ThrowIfNull(encoderHiddenStates);
        if (sample.dim() != 4 || sample.shape[1] != Config.InChannels)
            throw BadInput($"sample must be [B, {Config.InChannels}, H, W], not [{string.Join(", ", sample.shape)}].");
        long batch = sample.shape[0];
        if (timesteps.dim() > 1 || (timesteps.dim() == 1 && timesteps.shape[0] != batch && timesteps.shape[0] != 1))
            throw BadInput($"timesteps must be a scalar, [1] or [{batch}], not [{string.Join(", ", timesteps.shape)}].");
        if (encoderHiddenStates.dim() != 3 || encoderHiddenStates.shape[0] != batch || encoderHiddenStates.shape[2] != Config.CrossAttentionDim)
            throw BadInput($"encoder_hidden_states must be [{batch}, S, {Config.CrossAttentionDim}], not [{string.Join(", ", encoderHiddenStates.shape)}].");
    }

    private static KohyaException BadInput(string message) =>
        new("InvalidModelInput", KohyaErrorKind.InvalidArgument, "UNet input: " + message);
}
