using System.Globalization;
using KohyaPS.Engine;
using KohyaPS.Engine.Monitoring;
using KohyaPS.Engine.Monitoring.Plotting;
using SkiaSharp;

namespace KohyaPS.Tests.Monitoring;

/// <summary>Loss plots drawn from a stitched log, decoded back and checked pixel by pixel.</summary>
public sealed class LossPlotTests : IDisposable
{
    private readonly string _run = Directory.CreateTempSubdirectory("kohya-plot-").FullName;

    public void Dispose() => Directory.Delete(_run, recursive: true);

    private static string Step(long step, string segment, double loss, double lr) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{{\"step\":{step},\"epoch\":0,\"loss\":{loss},\"lr\":{lr},\"grad_norm\":1,\"samples_per_second\":10,\"time\":\"2026-11-25T18:00:00Z\",\"segment\":\"{segment}\"}}");

    /// <summary>Segment a trains 1..25, b resumes at 21 (checkpoint 20) to 40 and rolls back at 30; val_loss every 10 steps.</summary>
    private void WriteLogs()
    {
        Directory.CreateDirectory(Path.Combine(_run, "logs"));
        var lines = Enumerable.Range(1, 25).Select(s => Step(s, "a", 1.0 / s + 0.2, 1e-3 * Math.Min(1, s / 5.0)))
            .Concat(Enumerable.Range(21, 20).Select(s => Step(s, "b", 1.0 / s + 0.25, 1e-3)));
        File.WriteAllLines(Path.Combine(_run, "logs", "train.jsonl"), lines);
        File.WriteAllLines(Path.Combine(_run, "logs", "metrics.jsonl"), new[] { 10, 20, 30, 40 }.Select(s =>
            string.Create(CultureInfo.InvariantCulture, $"{{\"step\":{s},\"name\":\"val_loss\",\"value\":{1.0 / s + 0.3},\"segment\":\"{(s <= 20 ? "a" : "b")}\"}}")));
        File.WriteAllText(Path.Combine(_run, "logs", "events.jsonl"),
            "{\"step\":30,\"segment\":\"b\",\"kind\":\"Rollback\",\"action\":\"Rollback\",\"message\":\"loss spike\"}\n");
    }

    /// <summary>Pixels of <paramref name="color"/> (each channel within <paramref name="tolerance"/>: lines are anti-aliased) in a box.</summary>
    private static int Count(SKBitmap bitmap, SKColor color, int x0, int x1, int y0, int y1, int tolerance = 0)
    {
        int n = 0;
        for (int x = Math.Max(0, x0); x <= Math.Min(bitmap.Width - 1, x1); x++)
            for (int y = Math.Max(0, y0); y <= Math.Min(bitmap.Height - 1, y1); y++)
            {
                var p = bitmap.GetPixel(x, y);
                if (Math.Abs(p.Red - color.Red) <= tolerance && Math.Abs(p.Green - color.Green) <= tolerance && Math.Abs(p.Blue - color.Blue) <= tolerance)
                    n++;
            }
        return n;
    }

    [Fact]
    public void PlotShowsLossLearningRateValidationAndMarkersWhereTheyBelong()
    {
        WriteLogs();
        var records = TrainingLogReader.Read(_run, new TrainingLogQuery()).ToList();
        Assert.Equal(40, records.Count);
        string png = Path.Combine(_run, "loss.png");
        var layout = LossPlot.Write(records, new LossPlotOptions { Width = 800, Height = 400, Title = "run" }, png);
        if (Environment.GetEnvironmentVariable("KOHYA_KEEP_PLOT") is { Length: > 0 } keep) File.Copy(png, keep, true);

        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((800, 400), (bitmap.Width, bitmap.Height));
        int top = layout.Top, bottom = layout.Bottom;
        Assert.True(Count(bitmap, LossPlot.SmoothedLossColor, layout.Left, layout.Right, top, bottom, 12) > 200);
        Assert.True(Count(bitmap, LossPlot.RawLossColor, layout.Left, layout.Right, top, bottom, 12) > 100);
        Assert.True(Count(bitmap, LossPlot.LearningRateColor, layout.Left, layout.Right, top, bottom, 12) > 200);

        // The resume marker: a dashed vertical line in the column of step 21, over most of the plot's height, and nowhere
        // else below the legend (which shows a swatch of each marker in the top right corner).
        int belowLegend = top + 120;
        int resumeX = (int)Math.Floor(layout.X(21));
        int plotHeight = bottom - top;
        Assert.True(Count(bitmap, LossPlot.ResumeColor, resumeX - 1, resumeX + 1, top, bottom) > plotHeight / 3,
            $"resume colour in columns {resumeX - 1}..{resumeX + 1}");
        Assert.Equal(0, Count(bitmap, LossPlot.ResumeColor, layout.Left, resumeX - 3, belowLegend, bottom));
        Assert.Equal(0, Count(bitmap, LossPlot.ResumeColor, resumeX + 3, layout.Right, belowLegend, bottom));
        int rollbackX = (int)Math.Floor(layout.X(30));
        Assert.True(Count(bitmap, LossPlot.RollbackColor, rollbackX - 1, rollbackX + 1, top, bottom) > plotHeight / 3);
        Assert.Equal(0, Count(bitmap, LossPlot.RollbackColor, layout.Left, rollbackX - 3, belowLegend, bottom));
        Assert.Equal(0, Count(bitmap, LossPlot.RollbackColor, rollbackX + 3, layout.Right, belowLegend, bottom));

        // Validation points: green around each measured step, at its loss height.
        foreach (long s in new long[] { 10, 20, 30, 40 })
        {
            int x = (int)layout.X(s), y = (int)layout.YLoss(records.Single(r => r.Step == s).ValidationLoss!.Value);
            Assert.True(Count(bitmap, LossPlot.ValidationColor, x - 3, x + 3, y - 3, y + 3, 12) > 5, $"validation point at step {s}");
        }
    }

    [Fact]
    public void SmoothingRestartsAtResumePointsAndBadOptionsAreRefused()
    {
        WriteLogs();
        var records = TrainingLogReader.Read(_run, new TrainingLogQuery()).ToList();
        var smooth = LossPlot.Smoothed(records, 0.5);
        Assert.Equal(records[0].Loss, smooth[0].Loss);
        Assert.Equal(0.5 * records[0].Loss + 0.5 * records[1].Loss, smooth[1].Loss, 12);
        Assert.Equal(records[20].Loss, smooth[20].Loss); // step 21, the resume point
        Assert.Equal("LossPlotSizeInvalid", Assert.Throws<KohyaException>(() => LossPlot.Layout(records, new LossPlotOptions { Width = 10 })).ErrorId);
        Assert.Equal("LossPlotSmoothingInvalid", Assert.Throws<KohyaException>(() => LossPlot.Layout(records, new LossPlotOptions { Smoothing = 1 })).ErrorId);
        Assert.Equal("LossPlotNoRecords", Assert.Throws<KohyaException>(() => LossPlot.Layout(Array.Empty<KohyaPS.Contracts.KohyaTrainingLogRecord>(), new LossPlotOptions())).ErrorId);
        Assert.Equal(new[] { 0.0, 0.2, 0.4, 0.6, 0.8, 1.0 }, LossPlotLayout.Ticks(0, 1, 6).Select(t => Math.Round(t, 9)));
    }
}
