using KohyaPS.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Sampling;

/// <summary>
/// Classifier-free guidance (Ho &amp; Salimans 2022) around a trained model: output = u + s·(c − u), with c the
/// prediction for the prompt and u for the negative prompt — or for the empty prompt, which is what caption
/// dropout trained as "no caption". Both are computed in one batch of two. At scale 1 the formula is c, so
/// only the conditional prediction is computed (as diffusers and sd-scripts do).
/// </summary>
public sealed class GuidedDenoiser : IDisposable
{
    private readonly TrainingModel _model;
    private readonly Tensor _conditional;
    private readonly Tensor? _unconditional;
    private readonly double _scale;

    public GuidedDenoiser(TrainingModel model, string prompt, string negativePrompt, double scale)
    {
        _model = model;
        _scale = scale;
        using var noGrad = torch.no_grad();
        _conditional = Encode(prompt);
        _unconditional = scale == 1.0 ? null : Encode(negativePrompt);
    }

    public double Scale => _scale;

    /// <summary>u + s·(c − u).</summary>
    public static Tensor Combine(Tensor conditional, Tensor unconditional, double scale) =>
        unconditional + scale * (conditional - unconditional);

    /// <summary>The guided model output for a batch of one sample at timestep <paramref name="timestep"/>.</summary>
    public Tensor Predict(Tensor sample, int timestep)
    {
        using var scope = NewDisposeScope();
        var t = tensor(new long[] { timestep }, device: sample.device);
        if (_unconditional is null)
            return _model.UNet.forward(sample, t, _conditional).MoveToOuterDisposeScope();
        var both = _model.UNet.forward(cat(new[] { sample, sample }, 0), t, cat(new[] { _unconditional, _conditional }, 0));
        var halves = both.chunk(2, 0);
        return Combine(halves[1], halves[0], _scale).MoveToOuterDisposeScope();
    }

    private Tensor Encode(string text)
    {
        using var ids = _model.Tokenizer.EncodeBatch(new[] { text }, _model.Device);
        return _model.TextEncoder.forward(ids);
    }

    public void Dispose()
    {
        _conditional.Dispose();
        _unconditional?.Dispose();
    }
}
