using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Loading;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Loading;

/// <summary>A tiny UNet + VAE + text encoder written to disk in both layouts and read back.</summary>
public sealed class StableDiffusionLoaderTests : IDisposable
{
    private static readonly string TokenizerFixture = Path.Combine(TestPaths.RepoRoot, "tests", "corpus", "clip-bpe");
    private readonly string _root = Directory.CreateTempSubdirectory("kohya-sdload-").FullName;

    private static readonly StableDiffusionLoadOptions TinyOptions = new()
    {
        UNet = UNetConfig.Tiny,
        Vae = VaeConfig.Tiny,
        TextEncoder = TextEncoderConfig.Tiny,
        MaxTokens = 8,
    };

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static StableDiffusionModels Random(long seed)
    {
        torch.manual_seed(seed);
        return new StableDiffusionModels(new UNet2DConditionModel(UNetConfig.Tiny), new AutoencoderKL(VaeConfig.Tiny),
            new TextEncoder(TextEncoderConfig.Tiny), null, "random");
    }

    private static IEnumerable<(string Name, Tensor A, Tensor B)> Pairs(StableDiffusionModels a, StableDiffusionModels b)
    {
        foreach (var (x, y, prefix) in new (nn.Module, nn.Module, string)[] { (a.UNet, b.UNet, "unet."), (a.Vae, b.Vae, "vae."), (a.TextEncoder, b.TextEncoder, "text.") })
        {
            var other = y.state_dict();
            foreach (var (name, tensor) in x.state_dict())
                yield return (prefix + name, tensor, other[name]);
        }
    }

    private string WriteFolder(StableDiffusionModels models, ScalarType dtype)
    {
        string folder = Path.Combine(_root, "diffusers model");
        StableDiffusionWriter.WriteDiffusersFolder(folder, models, dtype);
        Directory.CreateDirectory(Path.Combine(folder, "tokenizer"));
        foreach (string f in new[] { "vocab.json", "merges.txt" })
            File.Copy(Path.Combine(TokenizerFixture, f), Path.Combine(folder, "tokenizer", f));
        return folder;
    }

    [Fact]
    public void DiffusersFolderInFp16LoadsAsFp32WithEveryTensorAndTheTokenizer()
    {
        using var original = Random(21);
        string folder = WriteFolder(original, ScalarType.Float16);
        using (var unet = SafetensorsFile.Open(Path.Combine(folder, StableDiffusionLoader.UNetWeights)))
            Assert.All(unet.Entries, e => Assert.Equal(SafetensorsDtype.F16, e.Dtype));
        using (var text = SafetensorsFile.Open(Path.Combine(folder, StableDiffusionLoader.TextEncoderWeights)))
            Assert.Contains(text.Entries, e => e.Name == "text_model.final_layer_norm.weight");

        using var loaded = StableDiffusionLoader.Load(folder, TinyOptions with { UNet = UNetConfig.Sd15 }); // the folder's config.json wins
        Assert.Equal(UNetConfig.Tiny, loaded.UNet.Config);
        Assert.Equal(VaeConfig.Tiny, loaded.Vae.Config);
        Assert.Equal(TextEncoderConfig.Tiny, loaded.TextEncoder.Config);
        Assert.NotNull(loaded.Tokenizer);
        Assert.Equal(new long[] { 39, 30, 40, 40, 40, 40, 40, 40 }, loaded.Tokenizer!.Encode("cat"));
        int count = 0;
        foreach (var (name, a, b) in Pairs(original, loaded))
        {
            Assert.Equal(ScalarType.Float32, b.dtype);
            using var rounded = a.to(ScalarType.Float16).to(ScalarType.Float32);
            Assert.True(rounded.eq(b).all().item<bool>(), name);
            count++;
        }
        Assert.Equal(UNetConfig.Tiny.CountParameters().Tensors + VaeConfig.Tiny.CountParameters().Tensors + TextEncoderConfig.Tiny.CountParameters().Tensors, count);
    }

    [Fact]
    public void SingleFileInLdmLayoutRoundTripsExactlyAndCanBeReadAsBf16()
    {
        using var original = Random(22);
        string path = Path.Combine(_root, "model.safetensors");
        StableDiffusionWriter.WriteSingleFile(path, original, ScalarType.Float32);
        using (var file = SafetensorsFile.Open(path))
        {
            Assert.Equal(new long[] { 32, 32, 1, 1 }, file.Header.GetEntry("first_stage_model.encoder.mid.attn_1.q.weight").GetShape());
            Assert.True(file.Header.Contains("model.diffusion_model.input_blocks.0.0.weight"));
            Assert.True(file.Header.Contains("model.diffusion_model.out.2.bias"));
            Assert.True(file.Header.Contains("cond_stage_model.transformer.text_model.final_layer_norm.weight"));
            Assert.DoesNotContain(file.Entries, e => e.Name.Contains("down_blocks", StringComparison.Ordinal));
        }

        using (var loaded = StableDiffusionLoader.Load(path, TinyOptions))
        {
            Assert.Null(loaded.Tokenizer);
            foreach (var (name, a, b) in Pairs(original, loaded))
                Assert.True(a.eq(b).all().item<bool>(), name);
            // The loaded VAE computes what the original does (the 1×1 convolutions became linears correctly).
            using var scope = torch.NewDisposeScope();
            var images = torch.rand(1, 3, 16, 16);
            Assert.True(original.Vae.forward(images).allclose(loaded.Vae.forward(images), rtol: 1e-5, atol: 1e-6));
        }

        using var bf16 = StableDiffusionLoader.Load(path, TinyOptions with { Dtype = ScalarType.BFloat16, Device = torch.CPU });
        foreach (var (name, a, b) in Pairs(original, bf16))
        {
            Assert.Equal(ScalarType.BFloat16, b.dtype);
            Assert.Equal(DeviceType.CPU, b.device_type);
            using var rounded = a.to(ScalarType.BFloat16);
            Assert.True(rounded.eq(b).all().item<bool>(), name);
        }
    }

    [Fact]
    public void SingleFileExtrasOutsideTheModelsAndPositionIdsAreIgnored()
    {
        using var original = Random(23);
        string clean = Path.Combine(_root, "clean.safetensors");
        StableDiffusionWriter.WriteSingleFile(clean, original, ScalarType.Float16);
        string withExtras = Path.Combine(_root, "extras.safetensors");
        Rewrite(clean, withExtras, tensors =>
        {
            tensors["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(8, ScalarType.Int64).unsqueeze(0);
            tensors["alphas_cumprod"] = torch.ones(1000);
            tensors["model_ema.decay"] = torch.tensor(0.999f);
        });
        using var loaded = StableDiffusionLoader.Load(withExtras, TinyOptions);
        Assert.Equal(UNetConfig.Tiny, loaded.UNet.Config);
    }

    [Fact]
    public void MismatchesAreListedCompletely()
    {
        using var original = Random(24);
        string clean = Path.Combine(_root, "clean.safetensors");
        StableDiffusionWriter.WriteSingleFile(clean, original, ScalarType.Float32);
        string broken = Path.Combine(_root, "broken.safetensors");
        Rewrite(clean, broken, tensors =>
        {
            tensors.Remove("model.diffusion_model.time_embed.0.weight");
            tensors.Remove("model.diffusion_model.out.2.bias");
            tensors["model.diffusion_model.label_emb.0.0.weight"] = torch.zeros(4, 4);
            tensors["model.diffusion_model.conv_in_typo.weight"] = torch.zeros(1);
            tensors["model.diffusion_model.input_blocks.0.0.weight"] = torch.zeros(16, 4, 3, 3);
        });
        var ex = Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(broken, TinyOptions));
        Assert.Equal("ModelWeightsMismatch", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidData, ex.Kind);
        Assert.Equal(new[] { "model.diffusion_model.out.2.bias", "model.diffusion_model.time_embed.0.weight" }, ((string[])ex.Data["Missing"]!).Order());
        Assert.Equal(new[] { "model.diffusion_model.conv_in_typo.weight", "model.diffusion_model.label_emb.0.0.weight" }, ((string[])ex.Data["Unexpected"]!).Order());
        var wrong = Assert.Single((string[])ex.Data["WrongShape"]!);
        Assert.Contains("input_blocks.0.0.weight: file [16, 4, 3, 3] vs model [16, 3, 3, 3]", wrong, StringComparison.Ordinal);
        Assert.Contains("2 missing", ex.Message, StringComparison.Ordinal);
        Assert.Contains("UNet", ex.Message, StringComparison.Ordinal);

        // A whole component of another size is refused the same way, before anything is built.
        var sd15 = Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(clean, TinyOptions with { Vae = VaeConfig.Sd15 }));
        Assert.Equal("ModelWeightsMismatch", sd15.ErrorId);
        Assert.Contains("VAE", sd15.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model.ckpt", new byte[] { 0x80, 0x02, 0x7d })]
    [InlineData("model.pt", new byte[] { 1, 2, 3 })]
    [InlineData("renamed.safetensors", new byte[] { (byte)'P', (byte)'K', 3, 4 })]
    public void PicklesAreRefusedUnopened(string name, byte[] bytes)
    {
        string path = Path.Combine(_root, name);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(path, TinyOptions));
        Assert.Equal("PickleCheckpointRefused", ex.ErrorId);
        Assert.Equal(path, ex.Target);
    }

    [Fact]
    public void IncompleteOrPickledFoldersAreRefused()
    {
        using var original = Random(25);
        string folder = WriteFolder(original, ScalarType.Float32);
        File.Delete(Path.Combine(folder, "tokenizer", "merges.txt"));
        Assert.Equal("ModelFileMissing", Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(folder, TinyOptions)).ErrorId);
        File.Copy(Path.Combine(TokenizerFixture, "merges.txt"), Path.Combine(folder, "tokenizer", "merges.txt"));
        string vae = Path.Combine(folder, StableDiffusionLoader.VaeWeights);
        File.Move(vae, Path.ChangeExtension(vae, ".bin"));
        Assert.Equal("PickleCheckpointRefused", Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(folder, TinyOptions)).ErrorId);
        Assert.Equal("ModelFileMissing", Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(Path.Combine(_root, "nothing"), TinyOptions)).ErrorId);
    }

    [Fact]
    public void UnsupportedOrBrokenConfigsAreNamed()
    {
        using var original = Random(26);
        string folder = WriteFolder(original, ScalarType.Float32);
        string unetConfig = Path.Combine(folder, "unet", "config.json");
        string json = File.ReadAllText(unetConfig);
        File.WriteAllText(unetConfig, json.Replace("\"use_linear_projection\": false", "\"use_linear_projection\": true", StringComparison.Ordinal));
        var ex = Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(folder, TinyOptions));
        Assert.Equal("UnsupportedModelConfig", ex.ErrorId);
        Assert.Contains("use_linear_projection", ex.Message, StringComparison.Ordinal);
        File.WriteAllText(unetConfig, "{ not json");
        Assert.Equal("InvalidModelConfigFile", Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(folder, TinyOptions)).ErrorId);
        File.WriteAllText(unetConfig, json.Replace("\"layers_per_block\"", "\"layers\"", StringComparison.Ordinal));
        ex = Assert.Throws<KohyaException>(() => StableDiffusionLoader.Load(folder, TinyOptions));
        Assert.Equal("InvalidModelConfigFile", ex.ErrorId);
        Assert.Contains("layers_per_block", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigJsonRoundTripsEveryPreset()
    {
        string dir = Path.Combine(_root, "configs");
        Directory.CreateDirectory(dir);
        string p = Path.Combine(dir, "config.json");
        foreach (var unet in new[] { UNetConfig.Tiny, UNetConfig.Small, UNetConfig.Sd15 })
        {
            File.WriteAllText(p, DiffusersConfigJson.Write(unet));
            Assert.Equal(unet, DiffusersConfigJson.ReadUNet(p));
        }
        foreach (var vae in new[] { VaeConfig.Tiny, VaeConfig.Sd15 })
        {
            File.WriteAllText(p, DiffusersConfigJson.Write(vae));
            Assert.Equal(vae, DiffusersConfigJson.ReadVae(p));
        }
        File.WriteAllText(p, DiffusersConfigJson.Write(TextEncoderConfig.ClipVitL14));
        Assert.Equal(TextEncoderConfig.ClipVitL14, DiffusersConfigJson.ReadTextEncoder(p));
        // diffusers' SD1.5 unet/config.json spells the head count as one integer.
        File.WriteAllText(p, DiffusersConfigJson.Write(UNetConfig.Sd15).Replace("\"attention_head_dim\": [\n    8,\n    8,\n    8,\n    8\n  ]", "\"attention_head_dim\": 8", StringComparison.Ordinal));
        Assert.Contains("\"attention_head_dim\": 8", File.ReadAllText(p), StringComparison.Ordinal);
        Assert.Equal(UNetConfig.Sd15, DiffusersConfigJson.ReadUNet(p));
    }

    private static void Rewrite(string from, string to, Action<Dictionary<string, Tensor>> change)
    {
        using var scope = torch.NewDisposeScope();
        Dictionary<string, Tensor> tensors;
        using (var file = SafetensorsFile.Open(from))
            tensors = file.ReadAll().ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
        change(tensors);
        SafetensorsWriter.Write(to, tensors, null);
    }
}
