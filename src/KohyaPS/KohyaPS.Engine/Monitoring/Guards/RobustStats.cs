namespace KohyaPS.Engine.Monitoring.Guards;

/// <summary>Median, median absolute deviation and the robust z-score built from them.</summary>
public static class RobustStats
{
    /// <summary>1.4826 × MAD estimates the standard deviation of normally distributed data.</summary>
    public const double MadToSigma = 1.4826;

    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.ToArray();
        Array.Sort(sorted);
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
    }

    public static double MedianAbsoluteDeviation(IReadOnlyCollection<double> values, double median) =>
        Median(values.Select(v => Math.Abs(v - median)).ToArray());

    /// <summary>
    /// How many robust standard deviations <paramref name="value"/> lies above the window's median. A window with
    /// no spread (MAD 0) uses a floor of 1e-12 × |median| so identical values do not make every change infinite.
    /// </summary>
    public static double ZScore(double value, IReadOnlyCollection<double> window, int meanOf = 1)
    {
        double median = Median(window);
        double sigma = MadToSigma * MedianAbsoluteDeviation(window, median) / Math.Sqrt(meanOf);
        sigma = Math.Max(sigma, 1e-12 * Math.Max(1, Math.Abs(median)));
        return (value - median) / sigma;
    }
}
