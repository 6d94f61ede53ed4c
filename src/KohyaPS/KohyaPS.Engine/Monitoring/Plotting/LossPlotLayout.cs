namespace KohyaPS.Engine.Monitoring.Plotting;

/// <summary>
/// Where things go on a loss plot: the plot area inside the margins (title on top, step labels below, loss labels
/// left, learning-rate labels right) and the mapping of steps, losses and learning rates to pixels.
/// </summary>
public sealed class LossPlotLayout
{
    public const int MarginLeft = 72, MarginRight = 76, MarginTop = 40, MarginBottom = 48;

    public LossPlotLayout(int width, int height, long firstStep, long lastStep, double lossMin, double lossMax, double lrMax)
    {
        Width = width;
        Height = height;
        Left = MarginLeft;
        Right = width - MarginRight;
        Top = MarginTop;
        Bottom = height - MarginBottom;
        FirstStep = firstStep;
        LastStep = lastStep > firstStep ? lastStep : firstStep + 1;
        (LossMin, LossMax) = lossMax > lossMin ? (lossMin, lossMax) : (lossMin - 0.5, lossMin + 0.5);
        LearningRateMax = lrMax > 0 ? lrMax : 1;
    }

    public int Width { get; }
    public int Height { get; }
    public int Left { get; }
    public int Right { get; }
    public int Top { get; }
    public int Bottom { get; }
    public long FirstStep { get; }
    public long LastStep { get; }
    public double LossMin { get; }
    public double LossMax { get; }
    public double LearningRateMax { get; }

    /// <summary>The pixel column of a step (the first step on the left edge of the plot area, the last on the right).</summary>
    public float X(double step) => Left + (float)((step - FirstStep) / (LastStep - FirstStep) * (Right - Left));

    public float YLoss(double loss) => Bottom - (float)((loss - LossMin) / (LossMax - LossMin) * (Bottom - Top));

    public float YLearningRate(double lr) => Bottom - (float)(lr / LearningRateMax * (Bottom - Top));

    /// <summary>Round tick values (1, 2 or 5 × 10^n apart) covering [<paramref name="min"/>, <paramref name="max"/>], about <paramref name="count"/> of them.</summary>
    public static IReadOnlyList<double> Ticks(double min, double max, int count)
    {
        if (!(max > min) || count < 2)
            return new[] { min };
        double raw = (max - min) / (count - 1);
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        var ticks = new List<double>();
        for (double t = Math.Ceiling(min / step) * step; t <= max + step * 1e-9; t += step)
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return ticks;
    }
}
