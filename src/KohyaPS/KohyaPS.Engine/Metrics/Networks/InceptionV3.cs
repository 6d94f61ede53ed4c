using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics.Networks;

/// <summary>
/// InceptionV3 up to the pool3 layer (2048-d), the FID network: torchvision's <c>Inception3</c> layout with
/// pytorch-fid's FID blocks, field names = their state-dict keys (<c>Conv2d_1a_3x3.conv.weight</c>,
/// <c>Mixed_7c.branch_pool.bn.running_var</c>, …). No auxiliary classifier and no <c>fc</c>: those keys in a
/// weights file are ignored. Input [N, 3, 299, 299] in [−1, 1] (pytorch-fid's normalised input).
/// </summary>
public sealed class InceptionV3 : nn.Module<Tensor, Tensor>
{
    public const int InputSize = 299;
    public const int FeatureDimension = 2048;

    private readonly BasicConv2d Conv2d_1a_3x3;
    private readonly BasicConv2d Conv2d_2a_3x3;
    private readonly BasicConv2d Conv2d_2b_3x3;
    private readonly BasicConv2d Conv2d_3b_1x1;
    private readonly BasicConv2d Conv2d_4a_3x3;
    private readonly InceptionA Mixed_5b;
    private readonly InceptionA Mixed_5c;
    private readonly InceptionA Mixed_5d;
    private readonly InceptionB Mixed_6a;
    private readonly InceptionC Mixed_6b;
    private readonly InceptionC Mixed_6c;
    private readonly InceptionC Mixed_6d;
    private readonly InceptionC Mixed_6e;
    private readonly InceptionD Mixed_7a;
    private readonly InceptionE Mixed_7b;
    private readonly InceptionE Mixed_7c;

    public InceptionV3() : base(nameof(InceptionV3))
    {
        Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, stride: 2);
        Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
        Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, padding: 1);
        Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
        Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
        Mixed_5b = new InceptionA(192, 32);
        Mixed_5c = new InceptionA(256, 64);
        Mixed_5d = new InceptionA(288, 64);
        Mixed_6a = new InceptionB(288);
        Mixed_6b = new InceptionC(768, 128);
        Mixed_6c = new InceptionC(768, 160);
        Mixed_6d = new InceptionC(768, 160);
        Mixed_6e = new InceptionC(768, 192);
        Mixed_7a = new InceptionD(768);
        Mixed_7b = new InceptionE(1280, maxPool: false);
        Mixed_7c = new InceptionE(2048, maxPool: true);
        RegisterComponents();
    }

    /// <summary>Keys a weights file may hold that this network does not use (or may lack).</summary>
    public static bool IsIgnoredKey(string key) =>
        key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
        || key.StartsWith("AuxLogits.", StringComparison.Ordinal)
        || key.StartsWith("fc.", StringComparison.Ordinal);

    /// <summary>pool3 features [N, 2048].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        x = Conv2d_2b_3x3.forward(Conv2d_2a_3x3.forward(Conv2d_1a_3x3.forward(x)));
        x = nn.functional.max_pool2d(x, 3, stride: 2);
        x = Conv2d_4a_3x3.forward(Conv2d_3b_1x1.forward(x));
        x = nn.functional.max_pool2d(x, 3, stride: 2);
        x = Mixed_5d.forward(Mixed_5c.forward(Mixed_5b.forward(x)));
        x = Mixed_6a.forward(x);
        x = Mixed_6e.forward(Mixed_6d.forward(Mixed_6c.forward(Mixed_6b.forward(x))));
        x = Mixed_7c.forward(Mixed_7b.forward(Mixed_7a.forward(x)));
        return nn.functional.adaptive_avg_pool2d(x, new long[] { 1, 1 }).flatten(1).MoveToOuterDisposeScope();
    }
}
