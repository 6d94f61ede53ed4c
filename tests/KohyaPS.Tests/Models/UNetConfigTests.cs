using KohyaPS.Engine;
using KohyaPS.Engine.Models;

namespace KohyaPS.Tests.Models;

public sealed class UNetConfigTests
{
    public static TheoryData<string, string> BadConfigs() => new()
    {
        { "in0", nameof(UNetConfig.InChannels) },
        { "out0", nameof(UNetConfig.OutChannels) },
        { "noLevels", nameof(UNetConfig.BlockOutChannels) },
        { "notDivisibleByGroups", nameof(UNetConfig.BlockOutChannels) },
        { "groups0", nameof(UNetConfig.NormNumGroups) },
        { "sampleNotMultiple", nameof(UNetConfig.SampleSize) },
        { "layers0", nameof(UNetConfig.LayersPerBlock) },
        { "downTypesCount", nameof(UNetConfig.DownBlockTypes) },
        { "upTypesCount", nameof(UNetConfig.UpBlockTypes) },
        { "undefinedUpType", nameof(UNetConfig.UpBlockTypes) },
        { "headsCount", nameof(UNetConfig.AttentionHeads) },
        { "headsNotDivisor", nameof(UNetConfig.AttentionHeads) },
        { "cross0", nameof(UNetConfig.CrossAttentionDim) },
        { "epsNaN", nameof(UNetConfig.NormEps) },
        { "transformerLayers0", nameof(UNetConfig.TransformerLayersPerBlock) },
    };

    private static UNetConfig Make(string name)
    {
        var t = UNetConfig.Tiny;
        return name switch
        {
            "in0" => t with { InChannels = 0 },
            "out0" => t with { OutChannels = -1 },
            "noLevels" => t with { BlockOutChannels = Array.Empty<int>() },
            "notDivisibleByGroups" => t with { BlockOutChannels = new[] { 16, 36 } },
            "groups0" => t with { NormNumGroups = 0 },
            "sampleNotMultiple" => t with { SampleSize = 33 },
            "layers0" => t with { LayersPerBlock = 0 },
            "downTypesCount" => t with { DownBlockTypes = new[] { DownBlockType.DownBlock2D } },
            "upTypesCount" => t with { UpBlockTypes = new[] { UpBlockType.UpBlock2D, UpBlockType.UpBlock2D, UpBlockType.UpBlock2D } },
            "undefinedUpType" => t with { UpBlockTypes = new[] { UpBlockType.UpBlock2D, (UpBlockType)7 } },
            "headsCount" => t with { AttentionHeads = new[] { 2 } },
            "headsNotDivisor" => t with { AttentionHeads = new[] { 3, 2 } },
            "cross0" => t with { CrossAttentionDim = 0 },
            "epsNaN" => t with { NormEps = double.NaN },
            "transformerLayers0" => t with { TransformerLayersPerBlock = 0 },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void ValidateNamesTheBadField(string caseName, string field)
    {
        var ex = Assert.Throws<KohyaException>(() => Make(caseName).Validate());
        Assert.Equal("InvalidModelConfig", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal(field, ex.Target);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConstructorValidates()
    {
        var ex = Assert.Throws<KohyaException>(() => new UNet2DConditionModel(UNetConfig.Tiny with { NormNumGroups = 5 }));
        Assert.Equal("InvalidModelConfig", ex.ErrorId);
    }

    [Fact]
    public void PresetsAreValidAndNamedCaseInsensitively()
    {
        Assert.Same(UNetConfig.Tiny, UNetConfig.FromPreset("tiny"));
        Assert.Same(UNetConfig.Small, UNetConfig.FromPreset("Small"));
        Assert.Same(UNetConfig.Sd15, UNetConfig.FromPreset(" SD15 "));
        foreach (string name in UNetConfig.PresetNames)
            UNetConfig.FromPreset(name).Validate();
        Assert.Equal(UNetConfig.Sd15, new UNetConfig());
    }

    [Fact]
    public void UnknownPresetIsAnError()
    {
        var ex = Assert.Throws<KohyaException>(() => UNetConfig.FromPreset("sdxl"));
        Assert.Equal("UnknownModelPreset", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("tiny, small, tiny-sd, sd15", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sd15IsTheRealConfig()
    {
        var c = UNetConfig.Sd15;
        Assert.Equal((4, 4, 64), (c.InChannels, c.OutChannels, c.SampleSize));
        Assert.Equal(new[] { 320, 640, 1280, 1280 }, c.BlockOutChannels);
        Assert.Equal(2, c.LayersPerBlock);
        Assert.Equal(new[] { 8, 8, 8, 8 }, c.AttentionHeads);
        Assert.Equal((768, 32, 1e-5, 1), (c.CrossAttentionDim, c.NormNumGroups, c.NormEps, c.TransformerLayersPerBlock));
        Assert.Equal(
            new[] { DownBlockType.CrossAttnDownBlock2D, DownBlockType.CrossAttnDownBlock2D, DownBlockType.CrossAttnDownBlock2D, DownBlockType.DownBlock2D },
            c.DownBlockTypes);
        Assert.Equal(
            new[] { UpBlockType.UpBlock2D, UpBlockType.CrossAttnUpBlock2D, UpBlockType.CrossAttnUpBlock2D, UpBlockType.CrossAttnUpBlock2D },
            c.UpBlockTypes);
        Assert.Equal(1280, c.TimeEmbeddingDim);
    }

    [Fact]
    public void EqualityComparesListContents()
    {
        var a = UNetConfig.Tiny with { BlockOutChannels = new[] { 16, 32 } };
        Assert.Equal(UNetConfig.Tiny, a);
        Assert.Equal(UNetConfig.Tiny.GetHashCode(), a.GetHashCode());
        Assert.NotEqual(UNetConfig.Tiny, a with { AttentionHeads = new[] { 1, 2 } });
        Assert.Contains("BlockOutChannels = [16, 32]", a.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ListsAreCopiedOnInit()
    {
        var channels = new[] { 16, 32 };
        var c = UNetConfig.Tiny with { BlockOutChannels = channels };
        channels[0] = 99;
        Assert.Equal(16, c.BlockOutChannels[0]);
    }

    [Fact]
    public void PresetSizes()
    {
        var tiny = UNetConfig.Tiny.CountParameters();
        var small = UNetConfig.Small.CountParameters();
        Assert.Equal(new ModelParameterCount(208, 202_915), tiny);
        Assert.Equal(new ModelParameterCount(326, 2_205_251), small);
        Assert.InRange(small.Parameters, 1_000_000, 3_000_000);
    }
}
