using KohyaPS.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Models;

public sealed class ModelTrainingStepTests
{
    [Fact]
    public void TinyUNetAndTextEncoderGetFiniteNonZeroGradientsEverywhere()
    {
        var tokenizer = WordTokenizer.FromCaptions(new[] { "a red cat", "a blue dog sitting" }, 6);
        using var unet = new UNet2DConditionModel(UNetConfig.Tiny);
        using var text = new TextEncoder(TextEncoderConfig.ForUNet(UNetConfig.Tiny, tokenizer));
        using (var scope = torch.NewDisposeScope())
        {
            var ids = tokenizer.EncodeBatch(new[] { "a red cat", "" });
            var sample = torch.randn(2, 3, 16, 16);
            var noise = torch.randn(2, 3, 16, 16);
            var prediction = unet.forward(sample, torch.tensor(new long[] { 3, 700 }), text.forward(ids));
            var loss = nn.functional.mse_loss(prediction, noise);
            loss.backward();
            Assert.True(double.IsFinite(loss.item<float>()));
        }

        foreach (var (name, p) in unet.named_parameters().Select(x => ("unet." + x.name, x.parameter))
                     .Concat(text.named_parameters().Select(x => ("text." + x.name, x.parameter))))
        {
            var grad = p.grad;
            Assert.True(grad is not null, name + " has no gradient");
            Assert.True(grad.isfinite().all().item<bool>(), name + " has a non-finite gradient");
            Assert.True(grad.abs().sum().item<float>() > 0, name + " has an all-zero gradient");
        }
    }
}
