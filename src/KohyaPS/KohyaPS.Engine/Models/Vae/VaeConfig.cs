using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models.Vae;

/// <summary>
/// The shape of an <see cref="AutoencoderKL"/>: diffusers' <c>AutoencoderKL</c> config as Stable Diffusion 1.x
/// uses it (every down block <c>DownEncoderBlock2D</c>, every up block <c>UpDecoderBlock2D</c>, SiLU, resnet and
/// norm epsilon 1e-6, a mid block of two resnets around one single-head self-attention). A default-constructed
/// config is SD1.5's (83,653,863 parameters in 248 tensors).
/// </summary>
public sealed record VaeConfig
{
    private IReadOnlyList<int> _blockOutChannels = Array.AsReadOnly(new[] { 128, 256, 512, 512 });

    /// <summary><c>in_channels</c>: image channels going in.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary><c>out_channels</c>: image channels coming out of the decoder.</summary>
    public int OutChannels { get; init; } = 3;

    /// <summary><c>latent_channels</c>.</summary>
    public int LatentChannels { get; init; } = 4;

    /// <summary><c>block_out_channels</c>: channels of each encoder level, top to bottom (the decoder mirrors them).</summary>
    public IReadOnlyList<int> BlockOutChannels
    {
        get => _blockOutChannels;
        init => _blockOutChannels = value is null ? null! : Array.AsReadOnly(value.ToArray());
    }

    /// <summary><c>layers_per_block</c>: resnets per encoder level (decoder levels have one more).</summary>
    public int LayersPerBlock { get; init; } = 2;

    /// <summary><c>norm_num_groups</c>.</summary>
    public int NormNumGroups { get; init; } = 32;

    /// <summary>Epsilon of every GroupNorm (diffusers fixes it at 1e-6 for the VAE).</summary>
    public double NormEps { get; init; } = 1e-6;

    /// <summary><c>scaling_factor</c>: latents are multiplied by it after encoding and divided before decoding.</summary>
    public double ScalingFactor { get; init; } = 0.18215;

    /// <summary>How many times the encoder halves the image side: levels − 1 (SD1.5: 8× smaller latents).</summary>
    public int DownsampleFactor => 1 << ((BlockOutChannels?.Count ?? 1) - 1);

    /// <summary>Stable Diffusion 1.x's VAE.</summary>
    public static VaeConfig Sd15 { get; } = new();

    /// <summary>For tests: two levels of 16 and 32 channels, 8 groups, 4 latent channels (16 px images → 8 px latents).</summary>
    public static VaeConfig Tiny { get; } = new()
    {
        BlockOutChannels = new[] { 16, 32 },
        LayersPerBlock = 1,
        NormNumGroups = 8,
    };

    /// <summary>The names <see cref="FromPreset"/> accepts.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = Array.AsReadOnly(new[] { "tiny", "sd15" });

    /// <summary>A preset by name ("tiny", "sd15"; case-insensitive).</summary>
    public static VaeConfig FromPreset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "tiny" => Tiny,
            "sd15" => Sd15,
            _ => throw new KohyaException("UnknownModelPreset", KohyaErrorKind.InvalidArgument,
                $"There is no VAE preset named '{name}'. Known presets: {string.Join(", ", PresetNames)}.", target: name)
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
        Require(LatentChannels > 0, nameof(LatentChannels), "latent_channels", $"must be positive, not {LatentChannels}.");
        Require(BlockOutChannels is { Count: > 0 }, nameof(BlockOutChannels), "block_out_channels", "must have at least one level.");
        Require(NormNumGroups > 0, nameof(NormNumGroups), "norm_num_groups", $"must be positive, not {NormNumGroups}.");
        for (int i = 0; i < BlockOutChannels.Count; i++)
        {
            int c = BlockOutChannels[i];
            Require(c > 0 && c % NormNumGroups == 0, nameof(BlockOutChannels), "block_out_channels",
                $"entry {i} ({c}) must be a positive multiple of NormNumGroups ({NormNumGroups}).");
        }
        Require(LayersPerBlock > 0, nameof(LayersPerBlock), "layers_per_block", $"must be positive, not {LayersPerBlock}.");
        Require(double.IsFinite(NormEps) && NormEps > 0, nameof(NormEps), "norm_eps",
            $"must be a positive finite number, not {NormEps.ToString(CultureInfo.InvariantCulture)}.");
        Require(double.IsFinite(ScalingFactor) && ScalingFactor > 0, nameof(ScalingFactor), "scaling_factor",
            $"must be a positive finite number, not {ScalingFactor.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>Every state-dict entry's name and shape, from a build on the <c>meta</c> device (no storage).</summary>
    public IReadOnlyDictionary<string, long[]> ParameterShapes()
    {
        Validate();
        using var model = new AutoencoderKL(this, new Device(DeviceType.META));
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal);
    }

    /// <summary>How many state-dict tensors and scalar parameters the model has.</summary>
    public ModelParameterCount CountParameters() => ModelParameterCount.FromShapes(ParameterShapes().Values);

    /// <inheritdoc/>
    public bool Equals(VaeConfig? other) =>
        other is not null && InChannels == other.InChannels && OutChannels == other.OutChannels
        && LatentChannels == other.LatentChannels && LayersPerBlock == other.LayersPerBlock
        && NormNumGroups == other.NormNumGroups && NormEps.Equals(other.NormEps) && ScalingFactor.Equals(other.ScalingFactor)
        && (BlockOutChannels ?? Array.Empty<int>()).SequenceEqual(other.BlockOutChannels ?? Array.Empty<int>());

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(InChannels, OutChannels, LatentChannels, LayersPerBlock, NormNumGroups,
        BlockOutChannels is null ? 0 : BlockOutChannels.Aggregate(17, (h, c) => h * 31 + c));

    private static void Require(bool condition, string property, string diffusersName, string problem)
    {
        if (condition)
            return;
        throw new KohyaException("InvalidModelConfig", KohyaErrorKind.InvalidArgument,
            $"VAE config {property} ({diffusersName}) {problem}", target: property)
        {
            RecommendedAction = $"Correct {property} in the model configuration.",
        };
    }
}
