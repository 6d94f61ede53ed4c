using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics.Networks;

/// <summary>
/// The demo attribute classifier: a small CNN over 32×32 RGB images with two heads, the drawn shape and its colour.
/// Three stages of 3×3 convolution → batch norm → ReLU → 2×2 max-pool (<c>conv1</c>/<c>bn1</c> 3→32,
/// <c>conv2</c>/<c>bn2</c> 32→64, <c>conv3</c>/<c>bn3</c> 64→64; 32 → 4 pixels), flatten (64·4·4) → <c>fc</c>
/// (→ <see cref="FeatureDimension"/>) → ReLU = the features, then <c>shape_head</c> and <c>color_head</c> (linear).
/// Field names are the state-dict keys. Call <c>eval()</c> before inference (batch norm's running statistics).
/// </summary>
public sealed class AttributeClassifierNet : nn.Module<Tensor, Tensor>
{
    public const int InputSize = 32;
    public const int FeatureDimension = 32;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly Linear fc;
    private readonly Linear shape_head;
    private readonly Linear color_head;

    public AttributeClassifierNet(int shapeCount, int colorCount) : base(nameof(AttributeClassifierNet))
    {
        conv1 = nn.Conv2d(3, 32, 3, padding: 1);
        bn1 = Norm(32);
        conv2 = nn.Conv2d(32, 64, 3, padding: 1);
        bn2 = Norm(64);
        conv3 = nn.Conv2d(64, 64, 3, padding: 1);
        bn3 = Norm(64);
        fc = nn.Linear(64 * 4 * 4, FeatureDimension);
        shape_head = nn.Linear(FeatureDimension, shapeCount);
        color_head = nn.Linear(FeatureDimension, colorCount);
        RegisterComponents();
    }

    /// <summary>The features (penultimate layer) of images [N, 3, 32, 32] in [−1, 1].</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.max_pool2d(nn.functional.relu(bn1.forward(conv1.forward(images))), 2);
        h = nn.functional.max_pool2d(nn.functional.relu(bn2.forward(conv2.forward(h))), 2);
        h = nn.functional.max_pool2d(nn.functional.relu(bn3.forward(conv3.forward(h))), 2);
        return nn.functional.relu(fc.forward(h.flatten(1))).MoveToOuterDisposeScope();
    }

    /// <summary>PyTorch's batch-norm defaults, set explicitly (TorchSharp leaves some norm parameters uninitialised).</summary>
    internal static BatchNorm2d Norm(long channels, double eps = 1e-5)
    {
        var bn = nn.BatchNorm2d(channels, eps: eps);
        using var noGrad = torch.no_grad();
        bn.weight!.fill_(1.0);
        bn.bias!.fill_(0.0);
        bn.running_mean!.zero_();
        bn.running_var!.fill_(1.0);
        return bn;
    }

    /// <summary>Shape and colour logits from <see cref="forward"/>'s features.</summary>
    public (Tensor Shape, Tensor Color) Heads(Tensor features) => (shape_head.forward(features), color_head.forward(features));
}
