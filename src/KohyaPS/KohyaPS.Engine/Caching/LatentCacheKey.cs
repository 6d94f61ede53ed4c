using System.Globalization;
using KohyaPS.Engine.Datasets;

namespace KohyaPS.Engine.Caching;

/// <summary>
/// Everything that decides one cached latent distribution, and the SHA-256 of its canonical text (the entry's
/// name). Changing any part — the image's bytes, the size it is scaled to, its bucket, the flip, the VAE's weights,
/// the torch thread count the encoder ran with (it changes the floats) or the cache format — gives a different key,
/// so an entry made for other inputs is never read.
/// </summary>
public sealed record LatentCacheKey(
    int FormatVersion,
    string ImageSha256,
    int ResizedWidth,
    int ResizedHeight,
    int BucketWidth,
    int BucketHeight,
    bool Flipped,
    string VaeSha256,
    int Threads)
{
    /// <summary>The format this build writes; bump it when the pixel path, the encoder or the file layout changes.</summary>
    public const int CurrentFormatVersion = 1;

    private const string Prefix = "kohyaps.latent_cache.";
    public const string KeyMetadata = Prefix + "key";
    private const string FormatMetadata = Prefix + "format";
    private const string ImageMetadata = Prefix + "image_sha256";
    private const string ResizedMetadata = Prefix + "resized";
    private const string BucketMetadata = Prefix + "bucket";
    private const string FlippedMetadata = Prefix + "flipped";
    private const string VaeMetadata = Prefix + "vae_sha256";
    private const string ThreadsMetadata = Prefix + "threads";

    /// <summary>One "name=value" line per component, in a fixed order.</summary>
    public string Canonical => string.Create(CultureInfo.InvariantCulture,
        $"kohyaps-latent-cache\nformat={FormatVersion}\nimage_sha256={ImageSha256}\nresized={ResizedWidth}x{ResizedHeight}\n" +
        $"bucket={BucketWidth}x{BucketHeight}\nflipped={(Flipped ? 1 : 0)}\nvae_sha256={VaeSha256}\nthreads={Threads}\n");

    /// <summary>Lower-case hex SHA-256 of <see cref="Canonical"/>.</summary>
    public string Value => FileHashing.HashText(Canonical);

    /// <summary>The <c>__metadata__</c> an entry carries: the key and each of its components.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>
    {
        [KeyMetadata] = Value,
        [FormatMetadata] = FormatVersion.ToString(CultureInfo.InvariantCulture),
        [ImageMetadata] = ImageSha256,
        [ResizedMetadata] = Size(ResizedWidth, ResizedHeight),
        [BucketMetadata] = Size(BucketWidth, BucketHeight),
        [FlippedMetadata] = Flipped ? "true" : "false",
        [VaeMetadata] = VaeSha256,
        [ThreadsMetadata] = Threads.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Whether <paramref name="metadata"/> describes exactly this key: the recorded key equals <see cref="Value"/> and
    /// every component matches (so a file renamed from another key, or edited, is not taken for this one).
    /// </summary>
    public bool Matches(IReadOnlyDictionary<string, string> metadata, out string problem)
    {
        foreach (var (name, expected) in ToMetadata())
        {
            if (!metadata.TryGetValue(name, out var actual))
            {
                problem = $"its metadata has no '{name}'";
                return false;
            }
            if (!string.Equals(actual, expected, StringComparison.Ordinal))
            {
                problem = $"its metadata '{name}' is '{actual}', not '{expected}'";
                return false;
            }
        }
        problem = "";
        return true;
    }

    private static string Size(int w, int h) => string.Create(CultureInfo.InvariantCulture, $"{w}x{h}");

    public override string ToString() => Value[..12];
}
