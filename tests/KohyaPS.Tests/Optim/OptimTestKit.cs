using KohyaPS.Engine.Native;
using KohyaPS.Engine.Optim;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Optim;

/// <summary>Small helpers for the optimizer tests: tiny named parameters, explicit gradients, bitwise checks.</summary>
internal static class OptimTestKit
{
    /// <summary>The two-parameter problem of the hand-computed tests: w = [1, -2], b = [0.5].</summary>
    public static readonly double[] StartValues = [1.0, -2.0, 0.5];

    /// <summary>Gradients for steps 1..3, flattened as [w0, w1, b0]; chosen so Lion's momentum flips a sign.</summary>
    public static readonly double[][] Grads =
    [
        [1.0, -1.0, 0.5],
        [-0.05, -2.0, 0.1],
        [-0.2, 0.3, 0.25],
    ];

    public static void EnsureTorch() => TorchRuntime.EnsureLoaded();

    public static (string Name, Parameter Param) Named(string name, params float[] values) =>
        (name, new Parameter(torch.tensor(values), requires_grad: true));

    public static List<(string Name, Parameter Param)> TwoParameters() =>
        [Named("w", (float)StartValues[0], (float)StartValues[1]), Named("b", (float)StartValues[2])];

    /// <summary>Sets the gradients of w and b from a flattened [w0, w1, b0] row; a null row part leaves b without a gradient.</summary>
    public static void SetGrads(IReadOnlyList<(string Name, Parameter Param)> ps, double[] g, bool bHasGrad = true)
    {
        ps[0].Param.grad = torch.tensor(new[] { (float)g[0], (float)g[1] });
        ps[1].Param.grad = bHasGrad ? torch.tensor(new[] { (float)g[2] }) : null!;
    }

    public static double[] Flatten(IReadOnlyList<(string Name, Parameter Param)> ps) =>
        ps.SelectMany(p => p.Param.data<float>().ToArray()).Select(f => (double)f).ToArray();

    public static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R} (difference {Math.Abs(expected[i] - actual[i]):E2} > {tolerance:E2})");
    }

    public static void AssertBitwiseEqual(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.cpu().contiguous();
        using var a = actual.cpu().contiguous();
        Assert.True(e.bytes.ToArray().AsSpan().SequenceEqual(a.bytes.ToArray()), $"{what} differs bitwise");
    }

    public static void AssertStatesBitwiseEqual(OptimizerState expected, OptimizerState actual)
    {
        Assert.Equal(expected.Values.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.Values.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Tensors.Keys.Order(StringComparer.Ordinal), actual.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, t) in expected.Tensors)
            AssertBitwiseEqual(t, actual.Tensors[key], key);
    }
}
