using System.Text;
using System.Text.Json;

namespace KohyaPS.Engine.Data;

/// <summary>One generated demo image and its labels.</summary>
/// <param name="RelativePath">Path of the PNG relative to the demo root, '/' separated (<c>10_shapes/0000.png</c>).</param>
public sealed record DemoImage(string RelativePath, string Caption, string Shape, string Color, string Background);

/// <summary>What <see cref="DemoDatasetGenerator.Generate"/> wrote.</summary>
/// <param name="RootPath">The dataset folder (pass it to <see cref="DreamBoothFolderReader"/>).</param>
/// <param name="ImageDirectory">The <c>10_shapes</c> subset folder.</param>
/// <param name="LabelsPath">The <c>demo.json</c> file with every image's labels.</param>
public sealed record DemoDatasetSummary(
    string RootPath, string ImageDirectory, string LabelsPath, int Count, long Seed, int Size, IReadOnlyList<DemoImage> Images);

/// <summary>
/// Writes a small synthetic dataset in kohya layout: <c>&lt;path&gt;/10_shapes/&lt;nnnn&gt;.png</c> with a
/// <c>.txt</c> caption such as "a red circle on an orange background", plus <c>&lt;path&gt;/demo.json</c> with the
/// labels (shape, colour, background) of each image for classifiers and evaluations.
/// </summary>
/// <remarks>
/// Fully deterministic: the same (count, seed, size) writes byte-identical files on every machine — the random
/// choices come from <see cref="DeterministicRandom"/>, the drawing from <see cref="ShapeRasterizer"/> and the
/// encoding from <see cref="PngWriter"/>, all plain C# without CPU-dependent paths.
/// </remarks>
public static class DemoDatasetGenerator
{
    public const string SubsetFolderName = "10_shapes";
    public const string LabelsFileName = "demo.json";

    /// <summary>The palette: name and RGB, in a fixed order.</summary>
    public static IReadOnlyList<(string Name, (byte R, byte G, byte B) Rgb)> Palette { get; } = new[]
    {
        ("red", ((byte)220, (byte)40, (byte)40)),
        ("green", ((byte)40, (byte)170, (byte)60)),
        ("blue", ((byte)40, (byte)80, (byte)220)),
        ("yellow", ((byte)240, (byte)210, (byte)40)),
        ("purple", ((byte)140, (byte)60, (byte)180)),
        ("orange", ((byte)245, (byte)140, (byte)30)),
        ("white", ((byte)245, (byte)245, (byte)245)),
        ("black", ((byte)20, (byte)20, (byte)20)),
    };

    public static IReadOnlyList<DemoShape> Shapes { get; } = Enum.GetValues<DemoShape>();

    /// <summary>
    /// Generates <paramref name="count"/> images of <paramref name="size"/>×<paramref name="size"/> pixels under
    /// <paramref name="path"/>. Refuses (DemoDatasetExists) when the subset folder already holds files, unless
    /// <paramref name="overwrite"/> is set, in which case its .png/.txt files and demo.json are replaced.
    /// </summary>
    public static DemoDatasetSummary Generate(string path, int count = 64, long seed = 42, int size = 32, bool overwrite = false)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), count, "At least one image.");
        if (size < 8 || size > 4096)
            throw new ArgumentOutOfRangeException(nameof(size), size, "The size must be from 8 to 4096 pixels.");

        string root = Path.GetFullPath(path);
        string dir = Path.Combine(root, SubsetFolderName);
        string labels = Path.Combine(root, LabelsFileName);
        PrepareFolder(dir, labels, overwrite);

        var images = new List<DemoImage>(count);
        int digits = Math.Max(4, (count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        for (int i = 0; i < count; i++)
        {
            var rng = DeterministicRandom.Derive(seed, DeterministicRandom.Domains.Demo, i);
            var shape = Shapes[rng.NextInt(Shapes.Count)];
            int fg = rng.NextInt(Palette.Count);
            int bg = rng.NextInt(Palette.Count - 1);
            if (bg >= fg)
                bg++;
            double r = size * (0.22 + 0.12 * rng.NextDouble());
            double cx = r + rng.NextDouble() * (size - 2 * r);
            double cy = r + rng.NextDouble() * (size - 2 * r);

            var image = ShapeRasterizer.Render(size, shape, Palette[fg].Rgb, Palette[bg].Rgb, cx, cy, r);
            string stem = i.ToString("D" + digits, System.Globalization.CultureInfo.InvariantCulture);
            string shapeName = shape.ToString().ToLowerInvariant();
            string caption = $"{Article(Palette[fg].Name)} {Palette[fg].Name} {shapeName} on {Article(Palette[bg].Name)} {Palette[bg].Name} background";
            PngWriter.Write(Path.Combine(dir, stem + ".png"), image);
            File.WriteAllText(Path.Combine(dir, stem + ".txt"), caption + "\n", new UTF8Encoding(false));
            images.Add(new DemoImage($"{SubsetFolderName}/{stem}.png", caption, shapeName, Palette[fg].Name, Palette[bg].Name));
        }

        File.WriteAllBytes(labels, LabelsJson(count, seed, size, images));
        return new DemoDatasetSummary(root, dir, labels, count, seed, size, images);
    }

    private static string Article(string word) => "aeiou".Contains(word[0], StringComparison.Ordinal) ? "an" : "a";

    /// <summary>Reads the labels back from a demo.json.</summary>
    public static IReadOnlyList<DemoImage> ReadLabels(string labelsPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(labelsPath));
        return doc.RootElement.GetProperty("images").EnumerateArray().Select(e => new DemoImage(
            e.GetProperty("file").GetString()!,
            e.GetProperty("caption").GetString()!,
            e.GetProperty("shape").GetString()!,
            e.GetProperty("color").GetString()!,
            e.GetProperty("background").GetString()!)).ToList();
    }

    private static void PrepareFolder(string dir, string labels, bool overwrite)
    {
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            if (!overwrite)
                throw new KohyaException("DemoDatasetExists", KohyaErrorKind.InvalidOperation,
                    $"'{dir}' already holds files; the demo dataset is not written over existing data.", target: dir)
                {
                    RecommendedAction = "Choose an empty folder, or overwrite (replaces the folder's .png and .txt files and demo.json).",
                };
            foreach (string f in Directory.EnumerateFiles(dir))
            {
                string ext = Path.GetExtension(f);
                if (ext.Equals(".png", StringComparison.OrdinalIgnoreCase) || ext.Equals(".txt", StringComparison.OrdinalIgnoreCase))
                    File.Delete(f);
            }
            if (File.Exists(labels))
                File.Delete(labels);
        }
        Directory.CreateDirectory(dir);
    }

    private static byte[] LabelsJson(int count, long seed, int size, IReadOnlyList<DemoImage> images)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteString("generator", "KohyaPS demo shapes");
            w.WriteNumber("formatVersion", 1);
            w.WriteNumber("seed", seed);
            w.WriteNumber("count", count);
            w.WriteNumber("size", size);
            w.WriteString("imageDirectory", SubsetFolderName);
            w.WriteStartArray("shapes");
            foreach (var s in Shapes)
                w.WriteStringValue(s.ToString().ToLowerInvariant());
            w.WriteEndArray();
            w.WriteStartObject("palette");
            foreach (var (name, (r, g, b)) in Palette)
            {
                w.WriteStartArray(name);
                w.WriteNumberValue(r);
                w.WriteNumberValue(g);
                w.WriteNumberValue(b);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteStartArray("images");
            foreach (var img in images)
            {
                w.WriteStartObject();
                w.WriteString("file", img.RelativePath);
                w.WriteString("caption", img.Caption);
                w.WriteString("shape", img.Shape);
                w.WriteString("color", img.Color);
                w.WriteString("background", img.Background);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
