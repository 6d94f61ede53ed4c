namespace KohyaPS.Engine.Data;

/// <summary>An 8-bit RGB image, rows top to bottom, pixels interleaved R,G,B.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels);

/// <summary>
/// Resizes and crops an <see cref="RgbImage"/> into a normalised float tensor layout, in plain C#.
/// </summary>
/// <remarks>
/// The filter is a separable triangle (bilinear) kernel widened by the downscale factor, i.e. bilinear with
/// antialiasing, as PIL's BILINEAR resize. It is written here rather than taken from Skia because Skia picks SIMD
/// code paths by CPU at run time; this code uses only IEEE double arithmetic in a fixed order (no trigonometry,
/// no fused multiply-add), so the same input gives the same floats on every machine and .NET version.
/// Taps that fall outside the image are dropped and the remaining weights renormalised.
/// </remarks>
public static class ImageResampler
{
    /// <summary>
    /// Scales <paramref name="source"/> to <paramref name="resizedWidth"/>×<paramref name="resizedHeight"/>, takes the
    /// <paramref name="outWidth"/>×<paramref name="outHeight"/> window at (<paramref name="cropX"/>, <paramref name="cropY"/>)
    /// of that scaled image, optionally mirrors it left-right, and returns it as CHW floats in [-1, 1]
    /// (value / 127.5 − 1). Only the window is computed.
    /// </summary>
    public static float[] ResizeCropToChw(
        RgbImage source, int resizedWidth, int resizedHeight, int cropX, int cropY, int outWidth, int outHeight, bool flip = false)
    {
        if (resizedWidth < 1 || resizedHeight < 1 || outWidth < 1 || outHeight < 1)
            throw new ArgumentOutOfRangeException(nameof(outWidth), "Sizes must be positive.");
        if (cropX < 0 || cropY < 0 || cropX + outWidth > resizedWidth || cropY + outHeight > resizedHeight)
            throw new ArgumentOutOfRangeException(nameof(cropX), "The crop window must lie inside the resized image.");

        var cols = Weights(source.Width, resizedWidth, cropX, outWidth);
        var rows = Weights(source.Height, resizedHeight, cropY, outHeight);

        // Horizontal pass over the source rows the vertical pass needs.
        int rowFirst = rows.Min(r => r.Start);
        int rowLast = rows.Max(r => r.Start + r.Values.Length);
        int stride = source.Width * 3;
        var tmp = new double[(rowLast - rowFirst) * outWidth * 3];
        for (int y = rowFirst; y < rowLast; y++)
        {
            int srcRow = y * stride;
            int tmpRow = (y - rowFirst) * outWidth * 3;
            for (int x = 0; x < outWidth; x++)
            {
                var tap = cols[x];
                double r = 0, g = 0, b = 0;
                for (int k = 0; k < tap.Values.Length; k++)
                {
                    int p = srcRow + (tap.Start + k) * 3;
                    double w = tap.Values[k];
                    r += source.Pixels[p] * w;
                    g += source.Pixels[p + 1] * w;
                    b += source.Pixels[p + 2] * w;
                }
                int t = tmpRow + x * 3;
                tmp[t] = r;
                tmp[t + 1] = g;
                tmp[t + 2] = b;
            }
        }

        int plane = outWidth * outHeight;
        var result = new float[3 * plane];
        for (int y = 0; y < outHeight; y++)
        {
            var tap = rows[y];
            for (int x = 0; x < outWidth; x++)
            {
                double r = 0, g = 0, b = 0;
                for (int k = 0; k < tap.Values.Length; k++)
                {
                    int t = ((tap.Start + k - rowFirst) * outWidth + x) * 3;
                    double w = tap.Values[k];
                    r += tmp[t] * w;
                    g += tmp[t + 1] * w;
                    b += tmp[t + 2] * w;
                }
                int ox = flip ? outWidth - 1 - x : x;
                int o = y * outWidth + ox;
                result[o] = Normalize(r);
                result[plane + o] = Normalize(g);
                result[2 * plane + o] = Normalize(b);
            }
        }
        return result;
    }

    private static float Normalize(double v) => (float)(Math.Clamp(v, 0.0, 255.0) / 127.5 - 1.0);

    private readonly record struct Tap(int Start, double[] Values);

    /// <summary>Filter taps for output positions [offset, offset + count) of a <paramref name="dst"/>-wide resize of <paramref name="src"/>.</summary>
    private static Tap[] Weights(int src, int dst, int offset, int count)
    {
        double scale = (double)src / dst;
        double radius = Math.Max(scale, 1.0);
        var taps = new Tap[count];
        for (int o = 0; o < count; o++)
        {
            double center = (o + offset + 0.5) * scale;
            int first = Math.Max(0, (int)Math.Floor(center - radius));
            int last = Math.Min(src, (int)Math.Ceiling(center + radius)); // exclusive
            var values = new double[Math.Max(0, last - first)];
            double sum = 0;
            for (int i = first; i < last; i++)
            {
                double d = Math.Abs(i + 0.5 - center) / radius;
                double w = d < 1.0 ? 1.0 - d : 0.0;
                values[i - first] = w;
                sum += w;
            }
            if (sum > 0)
            {
                for (int k = 0; k < values.Length; k++)
                    values[k] /= sum;
                taps[o] = Trim(first, values);
            }
            else
            {
                int nearest = Math.Clamp((int)Math.Floor(center), 0, src - 1);
                taps[o] = new Tap(nearest, new[] { 1.0 });
            }
        }
        return taps;
    }

    /// <summary>Drops zero weights at both ends so exact copies read exactly one source pixel.</summary>
    private static Tap Trim(int first, double[] values)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi && values[lo] == 0)
            lo++;
        while (hi > lo && values[hi - 1] == 0)
            hi--;
        return new Tap(first + lo, values[lo..hi]);
    }
}
