using KohyaPS.Engine.Data;

namespace KohyaPS.Tests.Data;

public sealed class DeterministicRandomTests
{
    [Fact]
    public void SplitMix64MatchesTheReferenceSequence()
    {
        // Reference values of SplitMix64 from state 0 (Steele, Lea, Flood 2014; also Vigna's splitmix64.c).
        var r = new DeterministicRandom(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, r.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, r.NextUInt64());
        Assert.Equal(0x06C45D188009454FUL, r.NextUInt64());
    }

    [Fact]
    public void DerivedStreamsArePinned()
    {
        // Pinned so that any change to stream derivation (which would change every data order) fails loudly.
        Assert.Equal(DeterministicRandom.DeriveSeed(42, DeterministicRandom.Domains.BatchShuffle, 3),
            DeterministicRandom.DeriveSeed(42, DeterministicRandom.Domains.BatchShuffle, 3));
        Assert.NotEqual(DeterministicRandom.DeriveSeed(42, DeterministicRandom.Domains.BatchShuffle, 3),
            DeterministicRandom.DeriveSeed(42, DeterministicRandom.Domains.BatchShuffle, 4));
        Assert.NotEqual(DeterministicRandom.DeriveSeed(42, DeterministicRandom.Domains.Flip, 1, 2, 3),
            DeterministicRandom.DeriveSeed(42, DeterministicRandom.Domains.Flip, 3, 2, 1));
        // Value computed independently (Python) from the documented construction.
        Assert.Equal(0xB3EA5B2D98183D2DUL, DeterministicRandom.DeriveSeed(1, 2, 3, 4, 5));
    }

    [Fact]
    public void NextIntStaysInRangeAndHitsEveryValue()
    {
        var r = new DeterministicRandom(7);
        var seen = new int[5];
        for (int i = 0; i < 1000; i++)
            seen[r.NextInt(5)]++;
        Assert.All(seen, c => Assert.InRange(c, 150, 250));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.NextInt(0));
    }

    [Fact]
    public void ShuffleIsAPermutationAndDeterministic()
    {
        var a = Enumerable.Range(0, 50).ToList();
        var b = Enumerable.Range(0, 50).ToList();
        new DeterministicRandom(99).Shuffle(a);
        new DeterministicRandom(99).Shuffle(b);
        Assert.Equal(a, b);
        Assert.Equal(Enumerable.Range(0, 50), a.Order());
        Assert.NotEqual(Enumerable.Range(0, 50), a);
    }

    [Fact]
    public void NextDoubleIsInUnitInterval()
    {
        var r = new DeterministicRandom(3);
        for (int i = 0; i < 1000; i++)
            Assert.InRange(r.NextDouble(), 0.0, 0.9999999999999999);
    }
}
