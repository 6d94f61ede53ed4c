namespace KohyaPS.Engine.Data;

/// <summary>The shapes the demo dataset draws.</summary>
public enum DemoShape
{
    Circle,
    Square,
    Triangle,
    Star,
    Cross,
}

/// <summary>
/// Draws one filled shape on a plain background with 4×4 supersampled antialiasing, in plain C#. Only additions,
/// multiplications and comparisons of doubles are used (the star's corners are literal constants, not computed
/// with sin/cos, whose last bit differs between C runtimes), so the pixels are identical on every machine.
/// </summary>
public static class ShapeRasterizer
{
    private const int Sub = 4; // supersamples per axis

    // Unit 5-pointed star, point up: outer corners at angles −90° + 72°k, inner corners between them.
    private static readonly (double X, double Y)[] StarUnit =
    {
        (0.0, -1.0), (0.5877852522924731, -0.8090169943749474), (0.9510565162951535, -0.3090169943749474),
        (0.9510565162951535, 0.3090169943749474), (0.5877852522924731, 0.8090169943749474), (0.0, 1.0),
        (-0.5877852522924731, 0.8090169943749474), (-0.9510565162951535, 0.3090169943749474),
        (-0.9510565162951535, -0.3090169943749474), (-0.5877852522924731, -0.8090169943749474),
    };

    private const double StarInner = 0.42;
    private const double HalfSqrt3 = 0.8660254037844386;

    /// <summary>
    /// Renders a <paramref name="size"/>×<paramref name="size"/> RGB image: <paramref name="shape"/> in
    /// <paramref name="foreground"/>, centred at (<paramref name="cx"/>, <paramref name="cy"/>) with "radius"
    /// <paramref name="r"/> (pixels, continuous coordinates with the image from 0 to size), on <paramref name="background"/>.
    /// </summary>
    public static RgbImage Render(int size, DemoShape shape, (byte R, byte G, byte B) foreground, (byte R, byte G, byte B) background,
        double cx, double cy, double r)
    {
        var polygon = Polygon(shape, cx, cy, r);
        var pixels = new byte[size * size * 3];
        for (int py = 0; py < size; py++)
        {
            for (int px = 0; px < size; px++)
            {
                int covered = 0;
                for (int sy = 0; sy < Sub; sy++)
                {
                    double y = py + (sy + 0.5) / Sub;
                    for (int sx = 0; sx < Sub; sx++)
                    {
                        double x = px + (sx + 0.5) / Sub;
                        if (Inside(shape, polygon, x, y, cx, cy, r))
                            covered++;
                    }
                }
                int o = (py * size + px) * 3;
                pixels[o] = Blend(background.R, foreground.R, covered);
                pixels[o + 1] = Blend(background.G, foreground.G, covered);
                pixels[o + 2] = Blend(background.B, foreground.B, covered);
            }
        }
        return new RgbImage(size, size, pixels);
    }

    private static byte Blend(byte bg, byte fg, int covered)
    {
        const int Total = Sub * Sub;
        return (byte)((bg * (Total - covered) + fg * covered + Total / 2) / Total);
    }

    private static bool Inside(DemoShape shape, (double X, double Y)[]? polygon, double x, double y, double cx, double cy, double r)
    {
        double dx = x - cx, dy = y - cy;
        switch (shape)
        {
            case DemoShape.Circle:
                return dx * dx + dy * dy <= r * r;
            case DemoShape.Square:
                double half = r * 0.8;
                return Math.Abs(dx) <= half && Math.Abs(dy) <= half;
            case DemoShape.Cross:
                double arm = r * 0.3;
                return (Math.Abs(dx) <= r && Math.Abs(dy) <= arm) || (Math.Abs(dx) <= arm && Math.Abs(dy) <= r);
            default:
                return InPolygon(polygon!, x, y);
        }
    }

    private static (double X, double Y)[]? Polygon(DemoShape shape, double cx, double cy, double r) => shape switch
    {
        // Equilateral, point up, centred on its circumcentre.
        DemoShape.Triangle => new[] { (cx, cy - r), (cx + HalfSqrt3 * r, cy + 0.5 * r), (cx - HalfSqrt3 * r, cy + 0.5 * r) },
        DemoShape.Star => StarUnit.Select((p, i) =>
        {
            double k = i % 2 == 0 ? r : r * StarInner;
            return (cx + p.X * k, cy + p.Y * k);
        }).ToArray(),
        _ => null,
    };

    /// <summary>Even-odd ray casting; fine for the simple polygons drawn here.</summary>
    private static bool InPolygon((double X, double Y)[] poly, double x, double y)
    {
        bool inside = false;
        for (int i = 0, j = poly.Length - 1; i < poly.Length; j = i++)
        {
            var (xi, yi) = poly[i];
            var (xj, yj) = poly[j];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
                inside = !inside;
        }
        return inside;
    }
}
