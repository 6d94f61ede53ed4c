using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Data;

/// <summary>A fresh folder under the temp directory, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kohyaps-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

    /// <summary>Creates a sub folder (and parents) and returns its path.</summary>
    public string Folder(params string[] parts)
    {
        string p = Combine(parts);
        Directory.CreateDirectory(p);
        return p;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }
}

/// <summary>Writes small test images and captions.</summary>
internal static class DataTestFiles
{
    /// <summary>A PNG whose pixel (x, y) is (x·k mod 256, y·k mod 256, tint): every pixel distinct enough to see crops.</summary>
    public static string Png(string path, int width, int height, byte tint = 128)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 3;
                pixels[o] = (byte)(x * 7 % 256);
                pixels[o + 1] = (byte)(y * 11 % 256);
                pixels[o + 2] = tint;
            }
        }
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        PngWriter.Write(path, new RgbImage(width, height, pixels));
        return path;
    }

    /// <summary>A PNG of one colour.</summary>
    public static string SolidPng(string path, int width, int height, (byte R, byte G, byte B) colour)
    {
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < pixels.Length; i += 3)
        {
            pixels[i] = colour.R;
            pixels[i + 1] = colour.G;
            pixels[i + 2] = colour.B;
        }
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        PngWriter.Write(path, new RgbImage(width, height, pixels));
        return path;
    }

    public static string Caption(string imagePath, string caption, string extension = ".txt")
    {
        string p = System.IO.Path.ChangeExtension(imagePath, extension);
        File.WriteAllText(p, caption);
        return p;
    }

    /// <summary>An image with a caption file, in one call.</summary>
    public static string Captioned(string folder, string name, string caption, int width = 16, int height = 16)
    {
        string img = Png(System.IO.Path.Combine(folder, name), width, height);
        Caption(img, caption);
        return img;
    }

    /// <summary>Same shape and bit-identical float32 values.</summary>
    public static bool BitEqual(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) =>
        a.shape.SequenceEqual(b.shape)
        && a.contiguous().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits)
            .SequenceEqual(b.contiguous().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits));

    /// <summary>An index built in memory, for order and bucket tests that need no files.</summary>
    public static DatasetIndex MemoryIndex(DatasetSettings settings, params (string Name, int Width, int Height, int Repeats)[] images)
    {
        var subsets = images.Select(i => i.Repeats).Distinct()
            .Select(r => new DatasetSubset("/mem/" + r, new SubsetSettings { NumRepeats = r })).ToList();
        var definition = new DatasetDefinition("/mem", DatasetSourceKind.DreamBoothFolder, "/mem", settings, subsets);
        var entries = images
            .Select(i => new ImageEntry("/mem/" + i.Name, i.Name, "caption of " + i.Name,
                subsets.FindIndex(s => s.Settings.NumRepeats == i.Repeats), i.Repeats, false, i.Width, i.Height))
            .OrderBy(e => e.RelativePath, StringComparer.Ordinal)
            .ToList();
        return new DatasetIndex(definition, entries, Array.Empty<string>());
    }
}
