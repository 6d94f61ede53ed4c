using System.Globalization;
using KohyaPS.Contracts;
using SkiaSharp;

namespace KohyaPS.Engine.Monitoring.Plotting;

/// <summary>What a loss plot draws and how big it is.</summary>
public sealed record LossPlotOptions
{
    public int Width { get; init; } = 1000;
    public int Height { get; init; } = 560;
    public string? Title { get; init; }

    /// <summary>Weight of the previous value in the smoothed loss (exponential moving average), 0 ≤ s &lt; 1; 0 draws no smoothed line.</summary>
    public double Smoothing { get; init; } = 0.9;

    public void Validate()
    {
        if (Width < 200 || Width > 10000 || Height < 150 || Height > 10000)
            throw new KohyaException("LossPlotSizeInvalid", KohyaErrorKind.InvalidArgument,
                $"A loss plot is 200–10000 pixels wide and 150–10000 high; {Width}×{Height} was asked for.", target: $"{Width}x{Height}");
        if (!(Smoothing >= 0 && Smoothing < 1))
            throw new KohyaException("LossPlotSmoothingInvalid", KohyaErrorKind.InvalidArgument,
                $"Smoothing is the EMA weight of the previous value, 0 ≤ s < 1; {Smoothing} was given.", target: Smoothing);
    }
}

/// <summary>
/// Draws training log records as a PNG with SkiaSharp: raw loss, smoothed loss (EMA), learning rate on a second
/// axis, validation loss points, dashed vertical markers at resume points and at rollback events, axes with ticks and
/// labels, and a legend. Steps missing from the records (a filtered log) leave gaps in the lines.
/// </summary>
public static class LossPlot
{
    public static readonly SKColor RawLossColor = new(0x9E, 0xC5, 0xE8);
    public static readonly SKColor SmoothedLossColor = new(0x1F, 0x5F, 0xA8);
    public static readonly SKColor LearningRateColor = new(0xE0, 0x7B, 0x00);
    public static readonly SKColor ValidationColor = new(0x2C, 0xA0, 0x2C);
    public static readonly SKColor ResumeColor = new(0x9C, 0x27, 0xB0);
    public static readonly SKColor RollbackColor = new(0xD6, 0x27, 0x28);
    private static readonly SKColor AxisColor = new(0x40, 0x40, 0x40);
    private static readonly SKColor GridColor = new(0xE6, 0xE6, 0xE6);

    /// <summary>Writes the plot of <paramref name="records"/> (in step order) to <paramref name="path"/>; returns its layout.</summary>
    public static LossPlotLayout Write(IReadOnlyList<KohyaTrainingLogRecord> records, LossPlotOptions options, string path)
    {
        var layout = Layout(records, options);
        using var surface = SKSurface.Create(new SKImageInfo(options.Width, options.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        Draw(surface.Canvas, records, options, layout);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        string temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            png.SaveTo(file);
        File.Move(temp, path, overwrite: true);
        return layout;
    }

    public static LossPlotLayout Layout(IReadOnlyList<KohyaTrainingLogRecord> records, LossPlotOptions options)
    {
        options.Validate();
        if (records.Count == 0)
            throw new KohyaException("LossPlotNoRecords", KohyaErrorKind.InvalidArgument, "There are no training log records to plot.")
            {
                RecommendedAction = "Pipe records from Get-KohyaTrainingLog, or give -RunPath of a run that has trained steps.",
            };
        var losses = records.Select(r => r.Loss).Concat(records.Where(r => r.ValidationLoss is not null).Select(r => r.ValidationLoss!.Value))
            .Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        double min = losses.Min(), max = losses.Max(), pad = (max - min) * 0.05;
        double lrMax = records.Select(r => r.LearningRate).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        return new LossPlotLayout(options.Width, options.Height, records.Min(r => r.Step), records.Max(r => r.Step),
            Math.Max(0, min - pad), max + pad, lrMax * 1.05);
    }

    private static void Draw(SKCanvas canvas, IReadOnlyList<KohyaTrainingLogRecord> records, LossPlotOptions options, LossPlotLayout l)
    {
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 12);
        using var titleFont = new SKFont(SKTypeface.Default, 16);
        using var text = new SKPaint { Color = AxisColor, IsAntialias = true };
        using var grid = new SKPaint { Color = GridColor, StrokeWidth = 1 };
        using var axis = new SKPaint { Color = AxisColor, StrokeWidth = 1, Style = SKPaintStyle.Stroke };

        foreach (double t in LossPlotLayout.Ticks(l.LossMin, l.LossMax, 6))
        {
            float y = l.YLoss(t);
            canvas.DrawLine(l.Left, y, l.Right, y, grid);
            canvas.DrawLine(l.Left - 4, y, l.Left, y, axis);
            canvas.DrawText(Number(t), l.Left - 6, y + 4, SKTextAlign.Right, font, text);
        }
        foreach (double t in LossPlotLayout.Ticks(l.FirstStep, l.LastStep, 8))
        {
            float x = l.X(t);
            canvas.DrawLine(x, l.Bottom, x, l.Bottom + 4, axis);
            canvas.DrawText(((long)Math.Round(t)).ToString(CultureInfo.InvariantCulture), x, l.Bottom + 18, SKTextAlign.Center, font, text);
        }
        using var lrText = new SKPaint { Color = LearningRateColor, IsAntialias = true };
        foreach (double t in LossPlotLayout.Ticks(0, l.LearningRateMax, 6))
        {
            float y = l.YLearningRate(t);
            canvas.DrawLine(l.Right, y, l.Right + 4, y, axis);
            canvas.DrawText(t.ToString("0.##E+0", CultureInfo.InvariantCulture), l.Right + 6, y + 4, SKTextAlign.Left, font, lrText);
        }
        canvas.DrawText("step", (l.Left + l.Right) / 2f, l.Height - 10, SKTextAlign.Center, font, text);
        DrawVertical(canvas, "loss", 16, (l.Top + l.Bottom) / 2f, font, text);
        DrawVertical(canvas, "learning rate", l.Width - 8, (l.Top + l.Bottom) / 2f, font, lrText);
        if (!string.IsNullOrEmpty(options.Title))
            canvas.DrawText(options.Title, l.Width / 2f, 26, SKTextAlign.Center, titleFont, text);

        // Markers under the curves, clipped to the plot area with everything else.
        canvas.Save();
        canvas.ClipRect(new SKRect(l.Left, l.Top, l.Right + 1, l.Bottom + 1));
        using (var resume = Dashed(ResumeColor))
            foreach (var r in records.Where(r => r.IsResumePoint))
                canvas.DrawLine(l.X(r.Step), l.Top, l.X(r.Step), l.Bottom, resume);
        using (var rollback = Dashed(RollbackColor))
            foreach (long step in records.SelectMany(r => r.Events).Where(e => e.Kind == "Rollback").Select(e => e.Step).Distinct())
                canvas.DrawLine(l.X(step), l.Top, l.X(step), l.Bottom, rollback);

        DrawSeries(canvas, records, r => r.Loss, l.YLoss, l, RawLossColor, 1.5f);
        if (options.Smoothing > 0)
            DrawSeries(canvas, Smoothed(records, options.Smoothing), r => r.Loss, l.YLoss, l, SmoothedLossColor, 2);
        DrawSeries(canvas, records, r => r.LearningRate, l.YLearningRate, l, LearningRateColor, 1.5f);
        using (var points = new SKPaint { Color = ValidationColor, IsAntialias = true, Style = SKPaintStyle.Fill })
            foreach (var r in records.Where(r => r.ValidationLoss is { } v && double.IsFinite(v)))
                canvas.DrawCircle(l.X(r.Step), l.YLoss(r.ValidationLoss!.Value), 4, points);
        canvas.Restore();

        canvas.DrawRect(new SKRect(l.Left, l.Top, l.Right, l.Bottom), axis);
        DrawLegend(canvas, l, options, font, text);
    }

    /// <summary>The exponential moving average of the loss, restarted at every resume point (a new segment is a new curve).</summary>
    public static IReadOnlyList<KohyaTrainingLogRecord> Smoothed(IReadOnlyList<KohyaTrainingLogRecord> records, double smoothing)
    {
        var result = new List<KohyaTrainingLogRecord>(records.Count);
        double ema = double.NaN;
        foreach (var r in records)
        {
            if (!double.IsFinite(r.Loss)) { result.Add(r); continue; }
            ema = double.IsNaN(ema) || r.IsResumePoint ? r.Loss : smoothing * ema + (1 - smoothing) * r.Loss;
            result.Add(new KohyaTrainingLogRecord { Step = r.Step, Loss = ema, IsResumePoint = r.IsResumePoint });
        }
        return result;
    }

    private static void DrawSeries(SKCanvas canvas, IReadOnlyList<KohyaTrainingLogRecord> records, Func<KohyaTrainingLogRecord, double> value,
        Func<double, float> y, LossPlotLayout l, SKColor color, float width)
    {
        using var paint = new SKPaint { Color = color, StrokeWidth = width, Style = SKPaintStyle.Stroke, IsAntialias = true, StrokeJoin = SKStrokeJoin.Round };
        using var path = new SKPath();
        bool open = false;
        long previous = long.MinValue;
        foreach (var r in records)
        {
            double v = value(r);
            bool gap = !double.IsFinite(v) || r.Step != previous + 1;
            if (double.IsFinite(v))
            {
                if (!open || gap) path.MoveTo(l.X(r.Step), y(v));
                else path.LineTo(l.X(r.Step), y(v));
                open = true;
            }
            else
            {
                open = false;
            }
            previous = r.Step;
        }
        canvas.DrawPath(path, paint);
        if (records.Count == 1 && double.IsFinite(value(records[0])))
            canvas.DrawCircle(l.X(records[0].Step), y(value(records[0])), width + 1, paint);
    }

    private static void DrawLegend(SKCanvas canvas, LossPlotLayout l, LossPlotOptions options, SKFont font, SKPaint text)
    {
        var entries = new List<(string Label, SKColor Color, bool Dashed)> { ("loss", RawLossColor, false) };
        if (options.Smoothing > 0) entries.Add(("smoothed loss", SmoothedLossColor, false));
        entries.Add(("learning rate", LearningRateColor, false));
        entries.Add(("validation loss", ValidationColor, false));
        entries.Add(("resume", ResumeColor, true));
        entries.Add(("rollback", RollbackColor, true));
        const float row = 16, swatch = 22;
        float width = 130, height = entries.Count * row + 8;
        float x0 = l.Right - width - 8, y0 = l.Top + 8;
        using var box = new SKPaint { Color = new SKColor(255, 255, 255, 230), Style = SKPaintStyle.Fill };
        using var border = new SKPaint { Color = GridColor, Style = SKPaintStyle.Stroke };
        canvas.DrawRect(x0, y0, width, height, box);
        canvas.DrawRect(x0, y0, width, height, border);
        for (int i = 0; i < entries.Count; i++)
        {
            float y = y0 + 12 + i * row;
            using var paint = entries[i].Dashed ? Dashed(entries[i].Color) : new SKPaint { Color = entries[i].Color, StrokeWidth = 3 };
            canvas.DrawLine(x0 + 6, y, x0 + 6 + swatch, y, paint);
            canvas.DrawText(entries[i].Label, x0 + 12 + swatch, y + 4, SKTextAlign.Left, font, text);
        }
    }

    private static SKPaint Dashed(SKColor color) => new()
    {
        Color = color,
        StrokeWidth = 1.5f,
        Style = SKPaintStyle.Stroke,
        PathEffect = SKPathEffect.CreateDash(new[] { 6f, 4f }, 0),
    };

    private static void DrawVertical(SKCanvas canvas, string label, float x, float y, SKFont font, SKPaint paint)
    {
        canvas.Save();
        canvas.RotateDegrees(-90, x, y);
        canvas.DrawText(label, x, y, SKTextAlign.Center, font, paint);
        canvas.Restore();
    }

    private static string Number(double v) =>
        Math.Abs(v) >= 1000 || (v != 0 && Math.Abs(v) < 0.001) ? v.ToString("0.##E+0", CultureInfo.InvariantCulture) : v.ToString("0.####", CultureInfo.InvariantCulture);
}
