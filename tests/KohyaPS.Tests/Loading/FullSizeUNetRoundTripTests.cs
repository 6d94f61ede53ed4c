using System.Diagnostics;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Loading;
using KohyaPS.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Loading;

/// <summary>
/// The real SD1.5 UNet, random-initialised in float16 (1.7 GB instead of fp32's 3.4 GB), saved as safetensors and
/// loaded back through the diffusers key map into a second model, tensor by tensor. About 22 s on a quiet 2-core
/// machine (several minutes under heavy load); needs ~4 GB of memory and 1.7 GB of temporary disk.
/// </summary>
public sealed class FullSizeUNetRoundTripTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-sd15-unet-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Sd15UNetSavesAndLoadsBackWithoutASecondCopy()
    {
        string path = Path.Combine(_root, "diffusion_pytorch_model.safetensors");
        torch.manual_seed(5);
        using var original = new UNet2DConditionModel(UNetConfig.Sd15, dtype: ScalarType.Float16);
        var result = SafetensorsWriter.Write(path, original.state_dict(), null);
        Assert.Equal(859_520_964L * 2, result.DataLength);

        torch.manual_seed(6);
        using var copy = new UNet2DConditionModel(UNetConfig.Sd15, dtype: ScalarType.Float16);
        var state = copy.state_dict();
        var map = LdmKeyMap.ForUNet(UNetConfig.Sd15);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(686, file.Entries.Count);
        var mismatch = WeightLoader.Compare(file, state, map, m => m.DiffusersKey, (_, s) => s, "");
        Assert.True(mismatch.IsEmpty);

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        long before = process.WorkingSet64;
        Assert.Equal(686, WeightLoader.Copy(file, state, map, m => m.DiffusersKey, CancellationToken.None));
        process.Refresh();
        // Tensor by tensor: the largest SD1.5 tensor is 1280×1280×3×3 fp16 (29 MB); nothing near a second model (1.7 GB).
        Assert.True(process.WorkingSet64 - before < 400L << 20, $"working set grew by {(process.WorkingSet64 - before) >> 20} MiB");

        var source = original.state_dict();
        foreach (var (name, tensor) in state)
            Assert.True(tensor.eq(source[name]).all().item<bool>(), name);
    }
}
