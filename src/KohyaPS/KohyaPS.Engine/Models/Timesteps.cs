using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// diffusers' <c>Timesteps</c> (<c>time_proj</c>): the sinusoidal timestep embedding, no parameters. With
/// half = dim / 2 and frequencies exp(−ln(10000) · i / (half − freq_shift)), the embedding is
/// [cos(t·f), sin(t·f)] when <c>flip_sin_to_cos</c> (SD's setting) and [sin, cos] otherwise; an odd width
/// gets a trailing zero. Always computed in float32.
/// </summary>
public sealed class Timesteps : nn.Module<Tensor, Tensor>
{
    private const double MaxPeriod = 10000.0;
    private readonly long _dim;
    private readonly bool _flipSinToCos;
    private readonly double _freqShift;

    public Timesteps(long dim, bool flipSinToCos = true, double freqShift = 0.0) : base(nameof(Timesteps))
    {
        if (dim < 2)
            throw new ArgumentOutOfRangeException(nameof(dim), dim, "The timestep embedding needs at least 2 channels.");
        _dim = dim;
        _flipSinToCos = flipSinToCos;
        _freqShift = freqShift;
        RegisterComponents();
    }

    /// <param name="timesteps">[B] timesteps (integer or float).</param>
    /// <returns>[B, dim] float32.</returns>
    public override Tensor forward(Tensor timesteps)
    {
        long half = _dim / 2;
        using var exponent = torch.arange(0, half, ScalarType.Float32, timesteps.device) * (-Math.Log(MaxPeriod) / (half - _freqShift));
        using var freqs = exponent.exp();
        using var t = timesteps.to_type(ScalarType.Float32).unsqueeze(1);
        using var args = t * freqs.unsqueeze(0);
        using var sin = args.sin();
        using var cos = args.cos();
        var emb = _flipSinToCos ? torch.cat(new[] { cos, sin }, 1) : torch.cat(new[] { sin, cos }, 1);
        if (_dim % 2 == 1)
        {
            using var unpadded = emb;
            emb = nn.functional.pad(unpadded, (0L, 1L));
        }
        return emb;
    }
}
