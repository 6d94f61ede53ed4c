using System.Text.RegularExpressions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Networks;

/// <summary>A group of layers that can carry LoRA adapters (Network.TargetModules names them).</summary>
public enum LoraTarget
{
    /// <summary>UNet attention projections: <c>attn1/attn2</c> <c>to_q</c>, <c>to_k</c>, <c>to_v</c>, <c>to_out.0</c>.</summary>
    Attention,

    /// <summary>UNet feed-forward layers: <c>ff.net.0.proj</c> (GEGLU) and <c>ff.net.2</c>.</summary>
    FeedForward,

    /// <summary>The transformers' <c>proj_in</c> and <c>proj_out</c> (1×1 convolutions in SD 1.x).</summary>
    Projection,

    /// <summary>UNet convolutions of ResNet blocks (<c>conv1</c>, <c>conv2</c>, <c>conv_shortcut</c>) and resamplers (<c>downsamplers.N.conv</c>, <c>upsamplers.N.conv</c>).</summary>
    Conv,

    /// <summary>Text encoder attention: <c>self_attn.q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>out_proj</c>.</summary>
    TextAttention,

    /// <summary>Text encoder MLP: <c>mlp.fc1</c>, <c>mlp.fc2</c>.</summary>
    TextMlp,
}

/// <summary>Names of <see cref="LoraTarget"/>s as settings spell them, and which module paths each one covers.</summary>
public static class LoraTargets
{
    /// <summary>Accepted names (case-insensitive) and the groups each one stands for.</summary>
    public static IReadOnlyDictionary<string, LoraTarget[]> Names { get; } = new Dictionary<string, LoraTarget[]>(StringComparer.OrdinalIgnoreCase)
    {
        ["attention"] = [LoraTarget.Attention],
        ["feedforward"] = [LoraTarget.FeedForward],
        ["projection"] = [LoraTarget.Projection],
        ["conv"] = [LoraTarget.Conv],
        ["text_attention"] = [LoraTarget.TextAttention],
        ["text_mlp"] = [LoraTarget.TextMlp],
        // kohya networks.lora's module classes.
        ["Transformer2DModel"] = [LoraTarget.Attention, LoraTarget.FeedForward, LoraTarget.Projection],
        ["CLIPAttention"] = [LoraTarget.TextAttention],
        ["CLIPMLP"] = [LoraTarget.TextMlp],
    };

    /// <summary>kohya's standard LoRA: every Linear and 1×1 convolution inside the UNet's transformers, and the text encoder's attention and MLP.</summary>
    public static IReadOnlyList<LoraTarget> Standard(bool textEncoder) => textEncoder
        ? [LoraTarget.Attention, LoraTarget.FeedForward, LoraTarget.Projection, LoraTarget.TextAttention, LoraTarget.TextMlp]
        : [LoraTarget.Attention, LoraTarget.FeedForward, LoraTarget.Projection];

    public static bool IsTextEncoder(LoraTarget target) => target is LoraTarget.TextAttention or LoraTarget.TextMlp;

    private static readonly Regex AttentionPath = new(@"\.attn[12]\.(to_q|to_k|to_v|to_out\.0)$", RegexOptions.CultureInvariant);
    private static readonly Regex FeedForwardPath = new(@"\.ff\.net\.(0\.proj|2)$", RegexOptions.CultureInvariant);
    private static readonly Regex ProjectionPath = new(@"\.attentions\.\d+\.(proj_in|proj_out)$", RegexOptions.CultureInvariant);
    private static readonly Regex ConvPath = new(@"(\.resnets\.\d+\.(conv1|conv2|conv_shortcut)|\.(downsamplers|upsamplers)\.\d+\.conv)$", RegexOptions.CultureInvariant);
    private static readonly Regex TextAttentionPath = new(@"\.self_attn\.(q_proj|k_proj|v_proj|out_proj)$", RegexOptions.CultureInvariant);
    private static readonly Regex TextMlpPath = new(@"\.mlp\.(fc1|fc2)$", RegexOptions.CultureInvariant);

    /// <summary>Whether the layer at <paramref name="path"/> (a module path inside the UNet or text encoder) belongs to <paramref name="target"/>.</summary>
    public static bool Covers(LoraTarget target, string path, nn.Module module)
    {
        bool linear = module is Linear;
        bool pointwise = module is Conv2d c && c.kernel_size.All(k => k == 1);
        return target switch
        {
            LoraTarget.Attention => linear && AttentionPath.IsMatch(path),
            LoraTarget.FeedForward => linear && FeedForwardPath.IsMatch(path),
            LoraTarget.Projection => (linear || pointwise) && ProjectionPath.IsMatch(path),
            LoraTarget.Conv => module is Conv2d && ConvPath.IsMatch(path),
            LoraTarget.TextAttention => linear && TextAttentionPath.IsMatch(path),
            LoraTarget.TextMlp => linear && TextMlpPath.IsMatch(path),
            _ => false,
        };
    }
}
