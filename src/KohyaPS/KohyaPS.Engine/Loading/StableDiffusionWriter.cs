using KohyaPS.Engine.Checkpoints.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Loading;

/// <summary>
/// Writes a <see cref="StableDiffusionModels"/> in either layout <see cref="StableDiffusionLoader"/> reads: a
/// diffusers folder (weights + config.json per component; a tokenizer is not written) or one LDM single file.
/// Tensors are converted to <c>dtype</c> on the way out. Files are written in place, not renamed into place.
/// </summary>
public static class StableDiffusionWriter
{
    public static void WriteDiffusersFolder(string folder, StableDiffusionModels models, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(models);
        foreach (string sub in new[] { "unet", "vae", "text_encoder" })
            Directory.CreateDirectory(Path.Combine(folder, sub));
        File.WriteAllText(Path.Combine(folder, "unet", "config.json"), DiffusersConfigJson.Write(models.UNet.Config));
        File.WriteAllText(Path.Combine(folder, "vae", "config.json"), DiffusersConfigJson.Write(models.Vae.Config));
        File.WriteAllText(Path.Combine(folder, "text_encoder", "config.json"), DiffusersConfigJson.Write(models.TextEncoder.Config));
        Write(Path.Combine(folder, StableDiffusionLoader.UNetWeights), Entries(models.UNet, LdmKeyMap.ForUNet(models.UNet.Config), m => m.DiffusersKey, false), dtype);
        Write(Path.Combine(folder, StableDiffusionLoader.VaeWeights), Entries(models.Vae, LdmKeyMap.ForVae(models.Vae.Config), m => m.DiffusersKey, false), dtype);
        Write(Path.Combine(folder, StableDiffusionLoader.TextEncoderWeights),
            Entries(models.TextEncoder, LdmKeyMap.ForTextEncoder(models.TextEncoder.Config), m => m.DiffusersKey, false), dtype);
    }

    public static void WriteSingleFile(string path, StableDiffusionModels models, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(models);
        var entries = Entries(models.UNet, LdmKeyMap.ForUNet(models.UNet.Config), m => m.LdmKey, true)
            .Concat(Entries(models.Vae, LdmKeyMap.ForVae(models.Vae.Config), m => m.LdmKey, true))
            .Concat(Entries(models.TextEncoder, LdmKeyMap.ForTextEncoder(models.TextEncoder.Config), m => m.LdmKey, true));
        Write(path, entries, dtype);
    }

    private static IEnumerable<(string Key, Tensor Tensor, bool Conv)> Entries(nn.Module module, IReadOnlyList<KeyMapping> map,
        Func<KeyMapping, string> key, bool ldm)
    {
        var state = module.state_dict();
        return map.Select(m => (key(m), state[m.ModelKey], ldm && m.LdmIsConv1x1));
    }

    private static void Write(string path, IEnumerable<(string Key, Tensor Tensor, bool Conv)> entries, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = entries.Select(e =>
        {
            var t = e.Tensor.detach().to(dtype);
            if (e.Conv)
                t = t.reshape(t.shape.Concat(new[] { 1L, 1L }).ToArray());
            return new KeyValuePair<string, Tensor>(e.Key, t);
        });
        SafetensorsWriter.Write(path, tensors, null);
    }
}
