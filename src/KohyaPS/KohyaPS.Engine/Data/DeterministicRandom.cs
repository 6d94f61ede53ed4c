namespace KohyaPS.Engine.Data;

/// <summary>
/// A small, explicitly specified pseudo-random generator (SplitMix64, Steele/Lea/Flood 2014) used for every
/// random decision of the data pipeline: shuffles, flips, crops, caption shuffles and dropouts.
/// </summary>
/// <remarks>
/// <para><see cref="System.Random"/> with a seed is not specified across .NET versions, so a data order built on it
/// could change with a runtime upgrade and break exact resume. This generator is defined entirely here: the same
/// seed gives the same sequence on every platform and version, forever. Changing anything in this file changes
/// every data order and augmentation; treat its output as a file format.</para>
/// <para>Independent streams are derived with <see cref="Derive(long, ulong, long, long, long)"/> from a seed, a
/// domain constant (what the numbers are for) and up to three coordinates (epoch, batch, position…), so a
/// decision never depends on how many numbers some other decision consumed.</para>
/// </remarks>
public sealed class DeterministicRandom
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;
    private ulong _state;

    public DeterministicRandom(ulong seed) => _state = seed;

    /// <summary>Domain constants: one per kind of decision, so streams never overlap by accident.</summary>
    public static class Domains
    {
        public const ulong BucketShuffle = 0x4B50_0001UL;
        public const ulong BatchShuffle = 0x4B50_0002UL;
        public const ulong Flip = 0x4B50_0010UL;
        public const ulong Crop = 0x4B50_0011UL;
        public const ulong CaptionShuffle = 0x4B50_0012UL;
        public const ulong CaptionDropout = 0x4B50_0013UL;
        public const ulong Demo = 0x4B50_0020UL;
    }

    /// <summary>The SplitMix64 output function: a bijective 64-bit mixer.</summary>
    public static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>A seed for an independent stream, a pure function of its inputs.</summary>
    public static ulong DeriveSeed(long seed, ulong domain, long a = 0, long b = 0, long c = 0)
    {
        unchecked
        {
            ulong h = Mix((ulong)seed ^ Mix(domain + Gamma));
            h = Mix(h ^ Mix((ulong)a + Gamma));
            h = Mix(h ^ Mix((ulong)b + 2 * Gamma));
            h = Mix(h ^ Mix((ulong)c + 3 * Gamma));
            return h;
        }
    }

    /// <summary>A generator for an independent stream; see <see cref="DeriveSeed"/>.</summary>
    public static DeterministicRandom Derive(long seed, ulong domain, long a = 0, long b = 0, long c = 0) =>
        new(DeriveSeed(seed, domain, a, b, c));

    /// <summary>The generator's position; a new generator built from it continues the same sequence.</summary>
    public ulong State => _state;

    public ulong NextUInt64()
    {
        _state = unchecked(_state + Gamma);
        return Mix(_state);
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias (rejection sampling).</summary>
    public int NextInt(int bound)
    {
        if (bound <= 0)
            throw new ArgumentOutOfRangeException(nameof(bound), bound, "The bound must be positive.");
        ulong b = (ulong)bound;
        ulong limit = ulong.MaxValue - (ulong.MaxValue % b); // values >= limit would favour small results
        ulong x;
        do
            x = NextUInt64();
        while (x >= limit);
        return (int)(x % b);
    }

    /// <summary>A uniform integer in [<paramref name="min"/>, <paramref name="max"/>] (both inclusive).</summary>
    public int NextInclusive(int min, int max)
    {
        if (max < min)
            throw new ArgumentOutOfRangeException(nameof(max), max, "max must not be below min.");
        return min + NextInt(max - min + 1);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Fisher–Yates shuffle in place (from the end, as in the textbook algorithm).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
