using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// Puts libtorch's default generator back to the state it had when the scope began: for code that builds models
/// (their initialisers draw from that generator, even on the <c>meta</c> device) without shifting the random stream of
/// whatever runs next in the process. <c>using var _ = DefaultGeneratorScope.Preserve();</c>
/// </summary>
public sealed class DefaultGeneratorScope : IDisposable
{
    private readonly Tensor _state;

    private DefaultGeneratorScope(Tensor state) => _state = state;

    public static DefaultGeneratorScope Preserve() => new(torch.random.get_rng_state());

    public void Dispose()
    {
        torch.random.set_rng_state(_state);
        _state.Dispose();
    }
}
