using System.Security.Cryptography;
using KohyaPS.Engine;
using KohyaPS.Engine.Data;
using SkiaSharp;

namespace KohyaPS.Tests.Data;

public sealed class DemoDatasetGeneratorTests
{
    private static string TreeHash(string root)
    {
        var lines = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/') + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))
            .Order(StringComparer.Ordinal);
        return Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines))));
    }

    [Fact]
    public void SameSeedWritesByteIdenticalFiles()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();
        using var c = new TempDirectory();
        DemoDatasetGenerator.Generate(a.Path, count: 16, seed: 42, size: 24);
        DemoDatasetGenerator.Generate(b.Path, count: 16, seed: 42, size: 24);
        DemoDatasetGenerator.Generate(c.Path, count: 16, seed: 43, size: 24);
        Assert.Equal(TreeHash(a.Path), TreeHash(b.Path));
        Assert.NotEqual(TreeHash(a.Path), TreeHash(c.Path));
    }

    [Fact]
    public void OutputIsPinned()
    {
        // The demo dataset is part of the product's reproducibility story: its bytes must not drift.
        using var tmp = new TempDirectory();
        DemoDatasetGenerator.Generate(tmp.Path, count: 8, seed: 42, size: 16);
        Assert.Equal(PinnedTreeHash, TreeHash(tmp.Path)[..16]);
    }

    internal const string PinnedTreeHash = "DE3D6C6BCE5FBAC9";

    private static string An(string word) => word == "orange" ? "an" : "a";

    [Fact]
    public void CaptionsMatchLabelsAndImagesDecode()
    {
        using var tmp = new TempDirectory();
        var summary = DemoDatasetGenerator.Generate(tmp.Path, count: 24, seed: 7, size: 32);

        Assert.Equal(24, summary.Images.Count);
        Assert.Equal(tmp.Combine("10_shapes"), summary.ImageDirectory);
        var labels = DemoDatasetGenerator.ReadLabels(summary.LabelsPath);
        Assert.Equal(summary.Images, labels);
        foreach (var img in labels)
        {
            string png = Path.Combine(tmp.Path, img.RelativePath);
            string caption = File.ReadAllText(Path.ChangeExtension(png, ".txt")).TrimEnd('\n');
            Assert.Equal($"{An(img.Color)} {img.Color} {img.Shape} on {An(img.Background)} {img.Background} background", caption);
            Assert.Equal(img.Caption, caption);
            Assert.NotEqual(img.Color, img.Background);
            using var bmp = SKBitmap.Decode(png); // Skia reads our PNG writer's output
            Assert.Equal((32, 32), (bmp.Width, bmp.Height));
        }
        Assert.True(labels.Select(l => l.Shape).Distinct().Count() >= 4);
        Assert.True(labels.Select(l => l.Color).Distinct().Count() >= 5);
    }

    [Fact]
    public void ForegroundAndBackgroundColoursAreWhereTheLabelsSay()
    {
        using var tmp = new TempDirectory();
        var summary = DemoDatasetGenerator.Generate(tmp.Path, count: 12, seed: 5, size: 32);
        var palette = DemoDatasetGenerator.Palette.ToDictionary(p => p.Name, p => p.Rgb);
        foreach (var img in summary.Images)
        {
            var rgb = ImageLoader.DecodeRgb(Path.Combine(tmp.Path, img.RelativePath));
            var colours = Enumerable.Range(0, rgb.Width * rgb.Height)
                .Select(i => (rgb.Pixels[i * 3], rgb.Pixels[i * 3 + 1], rgb.Pixels[i * 3 + 2]))
                .GroupBy(c => c).OrderByDescending(g => g.Count()).Select(g => g.Key).ToList();
            Assert.Contains(palette[img.Background], colours.Take(2));
            Assert.Contains(palette[img.Color], colours.Take(2));
        }
    }

    [Fact]
    public void LoadsAsAKohyaFolderAndRefusesToOverwrite()
    {
        using var tmp = new TempDirectory();
        DemoDatasetGenerator.Generate(tmp.Path, count: 8, size: 16);
        var index = DatasetIndexer.Open(tmp.Path);
        Assert.Equal(8, index.Count);
        Assert.All(index.Entries, e => Assert.Equal(10, e.Repeats));
        Assert.Equal("10_shapes/0000.png", index[0].RelativePath);
        Assert.Empty(index.Warnings);

        var ex = Assert.Throws<KohyaException>(() => DemoDatasetGenerator.Generate(tmp.Path, count: 4, size: 16));
        Assert.Equal("DemoDatasetExists", ex.ErrorId);
        var again = DemoDatasetGenerator.Generate(tmp.Path, count: 4, size: 16, overwrite: true);
        Assert.Equal(4, DatasetIndexer.Open(tmp.Path).Count);
        Assert.Equal(4, again.Count);
    }
}
