using System.Globalization;

namespace KohyaPS.Bench;

/// <summary>Repeated measurements of one quantity: median and range.</summary>
public sealed class Series
{
    private readonly List<double> _values = new();

    public IReadOnlyList<double> Values => _values;
    public int Count => _values.Count;

    public void Add(double value) => _values.Add(value);

    public double Median
    {
        get
        {
            if (_values.Count == 0) return double.NaN;
            var sorted = _values.OrderBy(v => v).ToArray();
            int mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    public double Min => _values.Count == 0 ? double.NaN : _values.Min();
    public double Max => _values.Count == 0 ? double.NaN : _values.Max();

    /// <summary>"median [min–max]" with <paramref name="format"/> for each number.</summary>
    public string Describe(string format = "0.0") =>
        _values.Count == 0 ? "n/a"
        : _values.Count == 1 ? Median.ToString(format, CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{Median.ToString(format, CultureInfo.InvariantCulture)} [{Min.ToString(format, CultureInfo.InvariantCulture)}–{Max.ToString(format, CultureInfo.InvariantCulture)}]");

    /// <summary>Element-wise ratio of two series measured pairwise (round i of A against round i of B).</summary>
    public static Series Ratio(Series numerator, Series denominator)
    {
        var r = new Series();
        for (int i = 0; i < Math.Min(numerator.Count, denominator.Count); i++)
            r.Add(numerator._values[i] / denominator._values[i]);
        return r;
    }

    public static Series Of(IEnumerable<double> values)
    {
        var s = new Series();
        foreach (var v in values) s.Add(v);
        return s;
    }
}
