using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>
/// Stochastic gradient descent as PyTorch's <c>torch.optim.SGD</c> (maximize off), per parameter:
/// <code>
/// g += wd*p                                   (when wd != 0)
/// buf = g on this parameter's first step, else buf = momentum*buf + (1 - dampening)*g   (when momentum != 0)
/// g = nesterov ? g + momentum*buf : buf       (when momentum != 0)
/// p -= lr*g
/// </code>
/// Slot <c>momentum_buffer</c> when momentum != 0, none otherwise.
/// </summary>
public sealed class Sgd : KohyaOptimizer
{
    private static readonly string[] MomentumSlots = ["momentum_buffer"];

    private readonly double _momentum;
    private readonly double _dampening;
    private readonly bool _nesterov;
    private readonly double _weightDecay;

    public Sgd(IReadOnlyList<(string Name, Parameter Param)> parameters,
               double momentum = 0, double dampening = 0, bool nesterov = false, double weightDecay = 0)
        : base(new OptimizerSettings { Type = OptimizerFactory.Sgd, Momentum = momentum, Dampening = dampening, Nesterov = nesterov, WeightDecay = weightDecay },
               parameters, momentum != 0 ? MomentumSlots : [])
    {
        _momentum = momentum;
        _dampening = dampening;
        _nesterov = nesterov;
        _weightDecay = weightDecay;
    }

    private protected override void Update(Tensor param, Tensor grad, Tensor[] state, long step, double lr)
    {
        if (_weightDecay != 0)
            grad = grad.add(param, _weightDecay);
        if (_momentum != 0)
        {
            var buf = state[0];
            if (step == 1)
                buf.copy_(grad); // PyTorch: buf = torch.clone(grad).detach()
            else
                buf.mul_(_momentum).add_(grad, 1 - _dampening);
            grad = _nesterov ? grad.add(buf, _momentum) : buf;
        }
        param.add_(grad, -lr);
    }

    private protected override IEnumerable<(string Key, string Value)> ExportSettings()
    {
        yield return ("momentum", Format(_momentum));
        yield return ("dampening", Format(_dampening));
        yield return ("nesterov", Format(_nesterov));
        yield return ("weight_decay", Format(_weightDecay));
    }
}
