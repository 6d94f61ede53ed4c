using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// The shape of a <see cref="UNet2DConditionModel"/>: diffusers' <c>UNet2DConditionModel</c> config, reduced to
/// what Stable Diffusion 1.x uses. A default-constructed config is SD1.5's. Property names are C#; the summary
/// of each names the diffusers config key it mirrors. Fixed (not configurable): the time projection is
/// sinusoidal with <c>flip_sin_to_cos=True</c>, <c>freq_shift=0</c>; the time embedding width is
/// 4 × <c>block_out_channels[0]</c>; activations are SiLU; feed-forwards are GEGLU; <c>proj_in</c>/<c>proj_out</c>
/// are 1×1 convolutions (<c>use_linear_projection=False</c>); dropout is 0; the mid block is
/// <c>UNetMidBlock2DCrossAttn</c> with one layer.
/// </summary>
public sealed record UNetConfig
{
    private IReadOnlyList<int> _blockOutChannels = Array.AsReadOnly(new[] { 320, 640, 1280, 1280 });
    private IReadOnlyList<DownBlockType> _downBlockTypes = Array.AsReadOnly(new[]
    {
        DownBlockType.CrossAttnDownBlock2D, DownBlockType.CrossAttnDownBlock2D, DownBlockType.CrossAttnDownBlock2D, DownBlockType.DownBlock2D,
    });
    private IReadOnlyList<UpBlockType> _upBlockTypes = Array.AsReadOnly(new[]
    {
        UpBlockType.UpBlock2D, UpBlockType.CrossAttnUpBlock2D, UpBlockType.CrossAttnUpBlock2D, UpBlockType.CrossAttnUpBlock2D,
    });
    private IReadOnlyList<int> _attentionHeads = Array.AsReadOnly(new[] { 8, 8, 8, 8 });

    /// <summary><c>in_channels</c>: channels of the noisy sample (4 for SD latents, 3 for RGB pixels).</summary>
    public int InChannels { get; init; } = 4;

    /// <summary><c>out_channels</c>: channels of the prediction.</summary>
    public int OutChannels { get; init; } = 4;

    /// <summary><c>sample_size</c>: the nominal height/width of the sample; must be divisible by 2^(levels − 1).</summary>
    public int SampleSize { get; init; } = 64;

    /// <summary><c>block_out_channels</c>: channels of each level, top to bottom; one entry per level.</summary>
    public IReadOnlyList<int> BlockOutChannels { get => _blockOutChannels; init => _blockOutChannels = Freeze(value); }

    /// <summary><c>layers_per_block</c>: resnets per down level (up levels have one more).</summary>
    public int LayersPerBlock { get; init; } = 2;

    /// <summary><c>down_block_types</c>: one per level, top to bottom.</summary>
    public IReadOnlyList<DownBlockType> DownBlockTypes { get => _downBlockTypes; init => _downBlockTypes = Freeze(value); }

    /// <summary><c>up_block_types</c>: one per level, bottom to top (the reverse order of the down levels).</summary>
    public IReadOnlyList<UpBlockType> UpBlockTypes { get => _upBlockTypes; init => _upBlockTypes = Freeze(value); }

    /// <summary>
    /// Number of attention heads of each level, top to bottom (the up levels and the mid block use the same
    /// list, reversed / last entry). This is what diffusers calls <c>attention_head_dim</c> in SD1.x/SD2.x
    /// configs: despite its name, diffusers passes that value on as the head <em>count</em> and derives the
    /// head width as channels ÷ heads (SD1.5: 8 heads of 40, 80, 160, 160). We store it under its real meaning.
    /// </summary>
    public IReadOnlyList<int> AttentionHeads { get => _attentionHeads; init => _attentionHeads = Freeze(value); }

    /// <summary><c>cross_attention_dim</c>: width of the text conditioning (<c>encoder_hidden_states</c>' last dimension).</summary>
    public int CrossAttentionDim { get; init; } = 768;

    /// <summary><c>norm_num_groups</c>: groups of every GroupNorm; every level's channel count must be divisible by it.</summary>
    public int NormNumGroups { get; init; } = 32;

    /// <summary><c>norm_eps</c>: epsilon of the resnet and output GroupNorms and the transformer LayerNorms.</summary>
    public double NormEps { get; init; } = 1e-5;

    /// <summary><c>transformer_layers_per_block</c>: BasicTransformerBlocks inside each Transformer2DModel.</summary>
    public int TransformerLayersPerBlock { get; init; } = 1;

    /// <summary>Number of resolution levels (entries of <see cref="BlockOutChannels"/>).</summary>
    public int Levels => BlockOutChannels?.Count ?? 0;

    /// <summary>Width of the time embedding: 4 × the first level's channels (1280 for SD1.5).</summary>
    public int TimeEmbeddingDim => BlockOutChannels[0] * 4;

    /// <summary>The real Stable Diffusion 1.5 UNet (859,520,964 parameters in 686 tensors).</summary>
    public static UNetConfig Sd15 { get; } = new();

    /// <summary>For tests: 32×32 RGB, two levels of 16 and 32 channels, text width 32 (202,915 parameters in 208 tensors).</summary>
    public static UNetConfig Tiny { get; } = new()
    {
        InChannels = 3,
        OutChannels = 3,
        SampleSize = 32,
        BlockOutChannels = new[] { 16, 32 },
        LayersPerBlock = 1,
        DownBlockTypes = new[] { DownBlockType.CrossAttnDownBlock2D, DownBlockType.DownBlock2D },
        UpBlockTypes = new[] { UpBlockType.UpBlock2D, UpBlockType.CrossAttnUpBlock2D },
        AttentionHeads = new[] { 2, 2 },
        CrossAttentionDim = 32,
        NormNumGroups = 8,
    };

    /// <summary>For the demo: 32×32 RGB (no VAE), three levels of 32, 64 and 96 channels, text width 64 (2,205,251 parameters in 326 tensors).</summary>
    public static UNetConfig Small { get; } = new()
    {
        InChannels = 3,
        OutChannels = 3,
        SampleSize = 32,
        BlockOutChannels = new[] { 32, 64, 96 },
        LayersPerBlock = 1,
        DownBlockTypes = new[] { DownBlockType.CrossAttnDownBlock2D, DownBlockType.CrossAttnDownBlock2D, DownBlockType.DownBlock2D },
        UpBlockTypes = new[] { UpBlockType.UpBlock2D, UpBlockType.CrossAttnUpBlock2D, UpBlockType.CrossAttnUpBlock2D },
        AttentionHeads = new[] { 4, 4, 4 },
        CrossAttentionDim = 64,
        NormNumGroups = 8,
    };

    /// <summary>
    /// For tests of the latent path: <see cref="Tiny"/> on the 4-channel latents of <see cref="Vae.VaeConfig.Tiny"/>
    /// (16 px images → 8 px latents).
    /// </summary>
    public static UNetConfig TinySd { get; } = Tiny with { InChannels = 4, OutChannels = 4, SampleSize = 8 };

    /// <summary>The names <see cref="FromPreset"/> accepts.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = Array.AsReadOnly(new[] { "tiny", "small", "tiny-sd", "sd15" });

    /// <summary>A preset by name ("tiny", "small", "sd15"; case-insensitive).</summary>
    public static UNetConfig FromPreset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "tiny" => Tiny,
            "tiny-sd" => TinySd,
            "small" => Small,
            "sd15" => Sd15,
            _ => throw new KohyaException("UnknownModelPreset", KohyaErrorKind.InvalidArgument,
                $"There is no UNet preset named '{name}'. Known presets: {string.Join(", ", PresetNames)}.", target: name)
            {
                RecommendedAction = $"Use one of: {string.Join(", ", PresetNames)}.",
            },
        };
    }

    /// <summary>Checks every field; throws <see cref="KohyaException"/> "InvalidModelConfig" naming the first bad one.</summary>
    public void Validate()
    {
        Require(InChannels > 0, nameof(InChannels), "in_channels", $"must be positive, not {InChannels}.");
        Require(OutChannels > 0, nameof(OutChannels), "out_channels", $"must be positive, not {OutChannels}.");
        Require(BlockOutChannels is { Count: > 0 }, nameof(BlockOutChannels), "block_out_channels", "must have at least one level.");
        Require(NormNumGroups > 0, nameof(NormNumGroups), "norm_num_groups", $"must be positive, not {NormNumGroups}.");
        for (int i = 0; i < Levels; i++)
        {
            int c = BlockOutChannels[i];
            Require(c > 0, nameof(BlockOutChannels), "block_out_channels", $"entry {i} must be positive, not {c}.");
            Require(c % NormNumGroups == 0, nameof(BlockOutChannels), "block_out_channels",
                $"entry {i} ({c}) must be divisible by NormNumGroups ({NormNumGroups}).");
        }
        int factor = 1 << (Levels - 1);
        Require(SampleSize > 0 && SampleSize % factor == 0, nameof(SampleSize), "sample_size",
            $"must be a positive multiple of {factor} (2^(levels − 1)), not {SampleSize}.");
        Require(LayersPerBlock > 0, nameof(LayersPerBlock), "layers_per_block", $"must be positive, not {LayersPerBlock}.");
        Require(DownBlockTypes is not null && DownBlockTypes.Count == Levels, nameof(DownBlockTypes), "down_block_types",
            $"must have one entry per level ({Levels}), not {DownBlockTypes?.Count ?? 0}.");
        Require(DownBlockTypes!.All(Enum.IsDefined), nameof(DownBlockTypes), "down_block_types", "holds an unknown block type.");
        Require(UpBlockTypes is not null && UpBlockTypes.Count == Levels, nameof(UpBlockTypes), "up_block_types",
            $"must have one entry per level ({Levels}), not {UpBlockTypes?.Count ?? 0}.");
        Require(UpBlockTypes!.All(Enum.IsDefined), nameof(UpBlockTypes), "up_block_types", "holds an unknown block type.");
        Require(AttentionHeads is not null && AttentionHeads.Count == Levels, nameof(AttentionHeads), "attention_head_dim",
            $"must have one entry per level ({Levels}), not {AttentionHeads?.Count ?? 0}.");
        for (int i = 0; i < Levels; i++)
        {
            int h = AttentionHeads![i];
            Require(h > 0 && BlockOutChannels[i] % h == 0, nameof(AttentionHeads), "attention_head_dim",
                $"entry {i} ({h}) must be a positive divisor of that level's channels ({BlockOutChannels[i]}).");
        }
        Require(CrossAttentionDim > 0, nameof(CrossAttentionDim), "cross_attention_dim", $"must be positive, not {CrossAttentionDim}.");
        Require(double.IsFinite(NormEps) && NormEps > 0, nameof(NormEps), "norm_eps",
            $"must be a positive finite number, not {NormEps.ToString(CultureInfo.InvariantCulture)}.");
        Require(TransformerLayersPerBlock > 0, nameof(TransformerLayersPerBlock), "transformer_layers_per_block",
            $"must be positive, not {TransformerLayersPerBlock}.");
    }

    /// <summary>
    /// Every state-dict entry's name and shape, found by building the model on PyTorch's <c>meta</c> device
    /// (shapes only, no storage): the same code as the real model, so the answer cannot drift from it, and
    /// SD1.5's 3.4 GB are never allocated.
    /// </summary>
    public IReadOnlyDictionary<string, long[]> ParameterShapes()
    {
        Validate();
        using var model = new UNet2DConditionModel(this, new Device(DeviceType.META));
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (name, tensor) in model.state_dict())
            shapes[name] = tensor.shape;
        return shapes;
    }

    /// <summary>How many state-dict tensors and scalar parameters the model has (see <see cref="ParameterShapes"/>).</summary>
    public ModelParameterCount CountParameters() => ModelParameterCount.FromShapes(ParameterShapes().Values);

    /// <inheritdoc/>
    public bool Equals(UNetConfig? other) =>
        other is not null
        && InChannels == other.InChannels
        && OutChannels == other.OutChannels
        && SampleSize == other.SampleSize
        && LayersPerBlock == other.LayersPerBlock
        && CrossAttentionDim == other.CrossAttentionDim
        && NormNumGroups == other.NormNumGroups
        && NormEps.Equals(other.NormEps)
        && TransformerLayersPerBlock == other.TransformerLayersPerBlock
        && SameItems(BlockOutChannels, other.BlockOutChannels)
        && SameItems(DownBlockTypes, other.DownBlockTypes)
        && SameItems(UpBlockTypes, other.UpBlockTypes)
        && SameItems(AttentionHeads, other.AttentionHeads);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(InChannels);
        hash.Add(OutChannels);
        hash.Add(SampleSize);
        hash.Add(LayersPerBlock);
        hash.Add(CrossAttentionDim);
        hash.Add(NormNumGroups);
        hash.Add(NormEps);
        hash.Add(TransformerLayersPerBlock);
        foreach (int c in BlockOutChannels ?? Array.Empty<int>())
            hash.Add(c);
        return hash.ToHashCode();
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture,
            $"InChannels = {InChannels}, OutChannels = {OutChannels}, SampleSize = {SampleSize}, " +
            $"BlockOutChannels = [{Join(BlockOutChannels)}], LayersPerBlock = {LayersPerBlock}, " +
            $"DownBlockTypes = [{Join(DownBlockTypes)}], UpBlockTypes = [{Join(UpBlockTypes)}], " +
            $"AttentionHeads = [{Join(AttentionHeads)}], CrossAttentionDim = {CrossAttentionDim}, " +
            $"NormNumGroups = {NormNumGroups}, NormEps = {NormEps.ToString("R", CultureInfo.InvariantCulture)}, " +
            $"TransformerLayersPerBlock = {TransformerLayersPerBlock}");
        return true;
    }

    private static string Join<T>(IEnumerable<T>? items) => items is null ? "" : string.Join(", ", items);

    private static bool SameItems<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) =>
        a is null || b is null ? ReferenceEquals(a, b) : a.SequenceEqual(b);

    private static IReadOnlyList<T> Freeze<T>(IEnumerable<T> value) =>
        value is null ? null! : Array.AsReadOnly(value.ToArray());

    private static void Require(bool condition, string property, string diffusersName, string problem)
    {
        if (condition)
            return;
        throw new KohyaException("InvalidModelConfig", KohyaErrorKind.InvalidArgument,
            $"UNet config {property} ({diffusersName}) {problem}", target: property)
        {
            RecommendedAction = $"Correct {property} in the model configuration.",
        };
    }
}
