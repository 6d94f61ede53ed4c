using KohyaPS.Engine.Data;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Sampling;

/// <summary>Tensors in the training range [-1, 1] to 8-bit RGB images, and a grid of several images.</summary>
public static class SampleImages
{
    /// <summary>
    /// [1, 3, H, W] or [3, H, W] in [-1, 1] (the inverse of the loader's value/127.5 − 1) to RGB bytes; values
    /// outside the range are clamped, then rounded half away from zero.
    /// </summary>
    public static RgbImage ToImage(Tensor x)
    {
        using var scope = NewDisposeScope();
        var chw = x.dim() == 4 ? x[0] : x;
        if (chw.dim() != 3 || chw.shape[0] != 3)
            throw new ArgumentException($"Expected an RGB image tensor, got [{string.Join(", ", x.shape)}].", nameof(x));
        int h = (int)chw.shape[1], w = (int)chw.shape[2];
        var hwc = chw.to(ScalarType.Float32).cpu().permute(1, 2, 0).contiguous();
        var values = hwc.data<float>().ToArray();
        var pixels = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = (Math.Clamp((double)values[i], -1.0, 1.0) + 1.0) * 127.5;
            pixels[i] = (byte)Math.Round(v, MidpointRounding.AwayFromZero);
        }
        return new RgbImage(w, h, pixels);
    }

    /// <summary>
    /// Images laid out in rows (one per prompt) and columns (one per seed), each in a cell as large as the largest
    /// image, 2 px apart on black; a missing cell stays black.
    /// </summary>
    public static RgbImage Grid(IReadOnlyList<IReadOnlyList<RgbImage>> rows)
    {
        const int Gap = 2;
        var all = rows.SelectMany(r => r).ToList();
        if (all.Count == 0)
            throw new ArgumentException("A grid needs at least one image.", nameof(rows));
        int cellW = all.Max(i => i.Width), cellH = all.Max(i => i.Height);
        int cols = rows.Max(r => r.Count);
        int width = cols * cellW + (cols - 1) * Gap, height = rows.Count * cellH + (rows.Count - 1) * Gap;
        var pixels = new byte[checked(width * height * 3)];
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < rows[r].Count; c++)
            {
                var image = rows[r][c];
                int x0 = c * (cellW + Gap), y0 = r * (cellH + Gap);
                for (int y = 0; y < image.Height; y++)
                    Buffer.BlockCopy(image.Pixels, y * image.Width * 3, pixels, ((y0 + y) * width + x0) * 3, image.Width * 3);
            }
        return new RgbImage(width, height, pixels);
    }
}
