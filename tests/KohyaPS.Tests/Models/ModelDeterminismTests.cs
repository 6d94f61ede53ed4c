using KohyaPS.Engine.Models;
using TorchSharp;

namespace KohyaPS.Tests.Models;

/// <summary>Seeds torch's process-wide default generator, so nothing else may build models meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchDefaultGeneratorCollection
{
    public const string Name = "Models: torch default generator";
}

[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class ModelDeterminismTests
{
    private static Dictionary<string, float[]> Weights(Func<torch.nn.Module> build, long seed)
    {
        torch.manual_seed(seed);
        using var model = build();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
    }

    [Fact]
    public void SameSeedGivesIdenticalWeights()
    {
        var builders = new Func<torch.nn.Module>[]
        {
            () => new UNet2DConditionModel(UNetConfig.Tiny),
            () => new TextEncoder(TextEncoderConfig.Tiny),
        };
        foreach (var build in builders)
        {
            var a = Weights(build, 1234);
            var b = Weights(build, 1234);
            var c = Weights(build, 1235);
            Assert.Equal(a.Keys, b.Keys);
            Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));
            Assert.Contains(a, kv => !kv.Value.SequenceEqual(c[kv.Key]));
        }
    }
}
