using KohyaPS.Contracts;
using KohyaPS.Engine.Loading;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Training;
using TorchSharp;

namespace KohyaPS.Tests.Latent;

/// <summary>
/// Runs shared by the latent-model tests, each trained once: the tiny-sd preset (tiny VAE, CLIP byte-level tokenizer,
/// 4-channel UNet) straight to 6 steps and the same run interrupted at step 3 and resumed; plus a tiny Stable Diffusion
/// diffusers folder on disk for the Model.Path tests.
/// </summary>
public sealed class LatentTrainingFixture : IDisposable
{
    private static readonly string TokenizerFixture = Path.Combine(TestPaths.RepoRoot, "tests", "corpus", "clip-bpe");
    private readonly object _gate = new();
    private RunOutcome? _straight;
    private RunOutcome? _split;

    public LatentTrainingFixture()
    {
        Runs = new ResumeMatrixFixture();
        Demo = TrainingTestSupport.DemoDataset(Path.Combine(Runs.Root, "demo"), 12);
    }

    public ResumeMatrixFixture Runs { get; }

    /// <summary>12 demo images of 16 px (coloured shapes with captions).</summary>
    public string Demo { get; }

    /// <summary>tiny-sd, 16 px images (8 px latents), batch 4, 1 thread, 6 steps.</summary>
    internal static KohyaHyperparameterSet Config(long steps = 6, Action<KohyaHyperparameterSet>? tweak = null) =>
        ResumeMatrixFixture.ReferenceConfig(steps, hp =>
        {
            hp.Model.Preset = "tiny-sd";
            hp.Model.MaxTokens = 40;
            hp.Resources.Threads = 1;
            tweak?.Invoke(hp);
        });

    internal RunOutcome Straight
    {
        get
        {
            lock (_gate) return _straight ??= Runs.Straight("latent-straight", Config(), Demo);
        }
    }

    internal RunOutcome Split
    {
        get
        {
            lock (_gate) return _split ??= Runs.Interrupted("latent-split", Config(), Demo, 3);
        }
    }

    /// <summary>
    /// A diffusers folder (unet/, vae/, text_encoder/ with config.json, tokenizer/ from the BPE fixture) holding a tiny
    /// latent model: UNet and text encoder drawn from <paramref name="seed"/>, the VAE from <paramref name="vaeSeed"/>.
    /// </summary>
    internal string WriteDiffusersFolder(string name, long seed, long vaeSeed = 1000)
    {
        string folder = Path.Combine(Runs.Root, name);
        var tokenizer = Engine.Models.Clip.ClipTokenizer.FromFiles(Path.Combine(TokenizerFixture, "vocab.json"), Path.Combine(TokenizerFixture, "merges.txt"));
        var text = TextEncoderConfig.ForUNet(UNetConfig.TinySd, tokenizer.VocabularySize, 77) with { Layers = 2 };
        torch.manual_seed(seed);
        var unet = new UNet2DConditionModel(UNetConfig.TinySd);
        var encoder = new TextEncoder(text);
        torch.manual_seed(vaeSeed);
        var vae = new AutoencoderKL(VaeConfig.Tiny);
        using var models = new StableDiffusionModels(unet, vae, encoder, null, "test");
        StableDiffusionWriter.WriteDiffusersFolder(folder, models, torch.ScalarType.Float32);
        Directory.CreateDirectory(Path.Combine(folder, "tokenizer"));
        foreach (string f in new[] { "vocab.json", "merges.txt" })
            File.Copy(Path.Combine(TokenizerFixture, f), Path.Combine(folder, "tokenizer", f), overwrite: true);
        return folder;
    }

    public void Dispose() => Runs.Dispose();
}
