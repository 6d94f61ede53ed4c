using KohyaPS.Engine.Native;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Data;

/// <summary>
/// Reads dataset images: the size from the header alone (for indexing), and the pixels resized and cropped to a
/// training resolution (for batches). Decoding is SkiaSharp's; resizing is <see cref="ImageResampler"/>'s.
/// </summary>
/// <remarks>
/// Transparent pixels are composited on white. The EXIF orientation is not applied (kohya does not apply it
/// either), so a photo stored sideways trains sideways.
/// </remarks>
public static class ImageLoader
{
    /// <summary>The pixel size from the file header, without decoding pixels. Throws <see cref="DatasetErrors.ImageUndecodable"/>.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        if (!File.Exists(path))
            throw DatasetErrors.NotFound(path, "image");
        SKImageInfo info;
        try
        {
            // A stream-backed codec reads only as far as the header.
            using var stream = File.OpenRead(path);
            using var codec = SKCodec.Create(stream, out SKCodecResult result)
                ?? throw DatasetErrors.Undecodable(path, NotImage(result));
            info = codec.Info;
        }
        catch (IOException ex)
        {
            throw DatasetErrors.Undecodable(path, ex.Message, ex);
        }
        if (info.Width < 1 || info.Height < 1)
            throw DatasetErrors.Undecodable(path, $"the header gives a size of {info.Width}×{info.Height}.");
        return (info.Width, info.Height);
    }

    /// <summary>Decodes the whole image to 8-bit RGB, alpha composited on white. Throws <see cref="DatasetErrors.ImageUndecodable"/>.</summary>
    public static RgbImage DecodeRgb(string path) => WithCodec(path, codec => DecodeRgb(path, codec));

    private static unsafe RgbImage DecodeRgb(string path, SKCodec codec)
    {
        int w = codec.Info.Width, h = codec.Info.Height;
        // Unpremultiplied RGBA, no colour space: the file's own values, no colour management.
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[checked(w * h * 4)];
        SKCodecResult result;
        fixed (byte* p = rgba)
            result = codec.GetPixels(info, (IntPtr)p);
        if (result != SKCodecResult.Success)
            throw DatasetErrors.Undecodable(path, $"decoding stopped with '{result}' (the file may be truncated).");

        var rgb = new byte[w * h * 3];
        for (int i = 0, j = 0; i < rgba.Length; i += 4, j += 3)
        {
            int a = rgba[i + 3];
            if (a == 255)
            {
                rgb[j] = rgba[i];
                rgb[j + 1] = rgba[i + 1];
                rgb[j + 2] = rgba[i + 2];
            }
            else
            {
                // c·a + 255·(255 − a), divided by 255 and rounded, in integers.
                int white = 255 * (255 - a);
                rgb[j] = (byte)((rgba[i] * a + white + 127) / 255);
                rgb[j + 1] = (byte)((rgba[i + 1] * a + white + 127) / 255);
                rgb[j + 2] = (byte)((rgba[i + 2] * a + white + 127) / 255);
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /// <summary>
    /// The size kohya scales an image to before cropping it to a target: the smallest aspect-preserving size that
    /// covers the target (each side rounded half up).
    /// </summary>
    public static (int Width, int Height) CoverSize(int width, int height, int targetWidth, int targetHeight)
    {
        double aspect = (double)width / height;
        double targetAspect = (double)targetWidth / targetHeight;
        double scale = aspect > targetAspect ? (double)targetHeight / height : (double)targetWidth / width;
        int w = Math.Max(targetWidth, (int)(width * scale + 0.5));
        int h = Math.Max(targetHeight, (int)(height * scale + 0.5));
        return (w, h);
    }

    /// <summary>
    /// Loads an image as a float tensor [3, <paramref name="targetHeight"/>, <paramref name="targetWidth"/>] in [-1, 1]
    /// (RGB): scaled preserving aspect to cover the target, then cropped to it — centred, or at a position drawn
    /// from <paramref name="cropSeed"/> when <paramref name="randomCrop"/> is set. The caller owns the tensor.
    /// </summary>
    public static Tensor LoadResized(string path, int targetWidth, int targetHeight, bool randomCrop = false, ulong cropSeed = 0)
    {
        var image = DecodeRgb(path);
        var (rw, rh) = CoverSize(image.Width, image.Height, targetWidth, targetHeight);
        var crop = randomCrop ? new DeterministicRandom(cropSeed) : null;
        float[] chw = ResizeCrop(image, rw, rh, targetWidth, targetHeight, crop, flip: false);
        TorchRuntime.EnsureLoaded();
        return torch.tensor(chw, new long[] { 3, targetHeight, targetWidth });
    }

    /// <summary>
    /// kohya's trim-and-resize: scale to <paramref name="resizedWidth"/>×<paramref name="resizedHeight"/> (at least the
    /// target on both sides), then cut the surplus — half on each side, or a random split when <paramref name="crop"/>
    /// is given (horizontal offset drawn first). Returns CHW floats in [-1, 1].
    /// </summary>
    internal static float[] ResizeCrop(RgbImage image, int resizedWidth, int resizedHeight, int targetWidth, int targetHeight,
        DeterministicRandom? crop, bool flip)
    {
        int trimX = resizedWidth - targetWidth, trimY = resizedHeight - targetHeight;
        if (trimX < 0 || trimY < 0)
            throw new ArgumentException($"The resized size {resizedWidth}×{resizedHeight} does not cover {targetWidth}×{targetHeight}.");
        int x = crop is null ? trimX / 2 : crop.NextInclusive(0, trimX);
        int y = crop is null ? trimY / 2 : crop.NextInclusive(0, trimY);
        return ImageResampler.ResizeCropToChw(image, resizedWidth, resizedHeight, x, y, targetWidth, targetHeight, flip);
    }

    /// <summary>Opens a codec over the file's bytes in memory, runs <paramref name="use"/>, and releases it.</summary>
    private static T WithCodec<T>(string path, Func<SKCodec, T> use)
    {
        if (!File.Exists(path))
            throw DatasetErrors.NotFound(path, "image");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException ex)
        {
            throw DatasetErrors.Undecodable(path, ex.Message, ex);
        }
        if (bytes.Length == 0)
            throw DatasetErrors.Undecodable(path, "the file is empty.");
        using var codec = SKCodec.Create(new MemoryStream(bytes, writable: false), out SKCodecResult result);
        if (codec is null)
            throw DatasetErrors.Undecodable(path, NotImage(result));
        return use(codec);
    }

    private static string NotImage(SKCodecResult result) =>
        result == SKCodecResult.Unimplemented ? "the format is not supported." : $"it is not a recognised image ({result}).";
}
