using KohyaPS.Engine.Data;
using SkiaSharp;
using TorchSharp;

namespace KohyaPS.Tests.Data;

public sealed class ImageLoaderTests
{
    private static float N(byte v) => (float)(v / 127.5 - 1.0);

    [Fact]
    public void LoadResizedGivesThreeChannelFloatsInRange()
    {
        using var tmp = new TempDirectory();
        string img = DataTestFiles.Png(tmp.Combine("a.png"), 40, 24);
        using var t = ImageLoader.LoadResized(img, 16, 24);
        Assert.Equal(new long[] { 3, 24, 16 }, t.shape);
        Assert.Equal(torch.ScalarType.Float32, t.dtype);
        Assert.True(t.min().item<float>() >= -1f);
        Assert.True(t.max().item<float>() <= 1f);
    }

    [Fact]
    public void SameSizeLoadIsExactAndChannelsAreRgb()
    {
        using var tmp = new TempDirectory();
        string img = DataTestFiles.Png(tmp.Combine("a.png"), 12, 10, tint: 200);
        using var t = ImageLoader.LoadResized(img, 12, 10);
        var v = t.data<float>().ToArray();
        int plane = 12 * 10;
        for (int y = 0; y < 10; y++)
        {
            for (int x = 0; x < 12; x++)
            {
                Assert.Equal(N((byte)(x * 7)), v[y * 12 + x]);
                Assert.Equal(N((byte)(y * 11)), v[plane + y * 12 + x]);
                Assert.Equal(N(200), v[2 * plane + y * 12 + x]);
            }
        }
    }

    [Fact]
    public void WideImageIsCoveredThenCentreCropped()
    {
        using var tmp = new TempDirectory();
        // 32×16: left quarter red, middle half green, right quarter blue; a 16×16 target keeps exactly the middle.
        var pixels = new byte[32 * 16 * 3];
        for (int y = 0; y < 16; y++)
        {
            for (int x = 0; x < 32; x++)
            {
                int o = (y * 32 + x) * 3;
                int channel = x < 8 ? 0 : x < 24 ? 1 : 2;
                pixels[o + channel] = 255;
            }
        }
        string img = tmp.Combine("wide.png");
        PngWriter.Write(img, new RgbImage(32, 16, pixels));

        using var t = ImageLoader.LoadResized(img, 16, 16);
        Assert.All(t[0].data<float>().ToArray(), v => Assert.Equal(-1f, v));
        Assert.All(t[1].data<float>().ToArray(), v => Assert.Equal(1f, v));
        Assert.All(t[2].data<float>().ToArray(), v => Assert.Equal(-1f, v));
    }

    [Fact]
    public void DownscalingASolidImageKeepsItsColourAndIsRepeatable()
    {
        using var tmp = new TempDirectory();
        string img = DataTestFiles.SolidPng(tmp.Combine("s.png"), 50, 30, (10, 128, 250));
        using var a = ImageLoader.LoadResized(img, 16, 16);
        using var b = ImageLoader.LoadResized(img, 16, 16);
        Assert.True(DataTestFiles.BitEqual(a, b));
        Assert.All(a[0].data<float>().ToArray(), v => Assert.Equal(N(10), v, 5));
        Assert.All(a[2].data<float>().ToArray(), v => Assert.Equal(N(250), v, 5));
    }

    [Fact]
    public void AlphaIsCompositedOnWhite()
    {
        using var tmp = new TempDirectory();
        string img = tmp.Combine("alpha.png");
        using (var bmp = new SKBitmap(new SKImageInfo(4, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            bmp.SetPixel(0, 0, new SKColor(0, 0, 0, 0));       // fully transparent black → white
            bmp.SetPixel(1, 0, new SKColor(0, 0, 0, 255));     // opaque black
            bmp.SetPixel(2, 0, new SKColor(255, 0, 0, 255));   // opaque red
            bmp.SetPixel(3, 0, new SKColor(0, 0, 0, 128));     // half black → mid grey
            using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(img, data.ToArray());
        }
        var rgb = ImageLoader.DecodeRgb(img);
        Assert.Equal(new byte[] { 255, 255, 255, 0, 0, 0, 255, 0, 0, 127, 127, 127 }, rgb.Pixels);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Jpeg, "x.jpg")]
    [InlineData(SKEncodedImageFormat.Webp, "x.webp")]
    public void JpegAndWebpDecode(SKEncodedImageFormat format, string name)
    {
        using var tmp = new TempDirectory();
        string img = tmp.Combine(name);
        using (var bmp = new SKBitmap(new SKImageInfo(24, 16, SKColorType.Rgba8888, SKAlphaType.Premul)))
        {
            bmp.Erase(new SKColor(200, 30, 30));
            using var data = bmp.Encode(format, 95);
            File.WriteAllBytes(img, data.ToArray());
        }
        Assert.Equal((24, 16), ImageLoader.ReadSize(img));
        using var t = ImageLoader.LoadResized(img, 16, 16);
        Assert.InRange(t[0].mean().item<float>(), N(185), N(215));
        Assert.InRange(t[1].mean().item<float>(), N(15), N(45));
    }

    [Fact]
    public void RandomCropIsDeterministicPerSeedAndVaries()
    {
        using var tmp = new TempDirectory();
        string img = DataTestFiles.Png(tmp.Combine("a.png"), 48, 16);
        using var a = ImageLoader.LoadResized(img, 16, 16, randomCrop: true, cropSeed: 5);
        using var b = ImageLoader.LoadResized(img, 16, 16, randomCrop: true, cropSeed: 5);
        Assert.True(DataTestFiles.BitEqual(a, b));
        var distinct = new HashSet<float>();
        for (ulong s = 0; s < 20; s++)
        {
            using var c = ImageLoader.LoadResized(img, 16, 16, randomCrop: true, cropSeed: s);
            distinct.Add(c[0, 0, 0].item<float>()); // red encodes x: the first column reveals the offset
        }
        Assert.True(distinct.Count > 5);
    }

    [Fact]
    public void CoverSizeFollowsKohya()
    {
        Assert.Equal((48, 24), ImageLoader.CoverSize(64, 32, 40, 24));
        Assert.Equal((32, 128), ImageLoader.CoverSize(10, 40, 32, 24));
        Assert.Equal((512, 768), ImageLoader.CoverSize(1000, 1500, 512, 512));
    }
}
