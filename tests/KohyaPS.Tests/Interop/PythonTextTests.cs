using KohyaPS.Engine.Interop;

namespace KohyaPS.Tests.Interop;

public sealed class PythonTextTests
{
    // Expected strings are what CPython 3 prints for repr(float(x)).
    [Theory]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(1.5e-07, "1.5e-07")]
    [InlineData(8.0, "8.0")]
    [InlineData(1.0, "1.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(123.456, "123.456")]
    [InlineData(1732550400.25, "1732550400.25")]
    [InlineData(1234567890123456.0, "1234567890123456.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1.2345678901234568e+17, "1.2345678901234568e+17")]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e+308, "1.7976931348623157e+308")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(100.0, "100.0")]
    public void FloatMatchesPythonRepr(double value, string expected)
    {
        Assert.Equal(expected, PythonText.Float(value));
        Assert.True(PythonText.TryParseFloat(expected, out double back));
        Assert.Equal(value, back);
    }

    [Fact]
    public void SpecialValuesAndNone()
    {
        Assert.Equal("nan", PythonText.Float(double.NaN));
        Assert.Equal("inf", PythonText.Float(double.PositiveInfinity));
        Assert.Equal("-inf", PythonText.Float(double.NegativeInfinity));
        Assert.Equal("None", PythonText.Float((double?)null));
        Assert.Equal("True", PythonText.Bool(true));
        Assert.True(PythonText.TryParseFloat("inf", out double inf) && double.IsPositiveInfinity(inf));
        Assert.True(PythonText.TryParseFloat("nan", out double nan) && double.IsNaN(nan));
        Assert.False(PythonText.TryParseFloat("None", out _));
        Assert.False(PythonText.TryParseFloat("0x10", out _));
        Assert.True(PythonText.IsNone("None"));
        Assert.False(PythonText.IsNone("0"));
    }

    [Fact]
    public void ShortestRoundTripOverRandomDoubles()
    {
        var rng = new Random(7);
        for (int i = 0; i < 5000; i++)
        {
            double v = BitConverter.Int64BitsToDouble(rng.NextInt64());
            if (!double.IsFinite(v)) continue;
            string s = PythonText.Float(v);
            Assert.True(PythonText.TryParseFloat(s, out double back), s);
            Assert.Equal(v, back);
            Assert.True(s.Contains('.') || s.Contains('e'), s); // Python always shows it is a float
        }
    }
}
