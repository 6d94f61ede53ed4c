using System.Diagnostics;
using System.Text;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Verification;
using KohyaPS.Tests.Models;
using Xunit.Abstractions;

namespace KohyaPS.Tests.Checkpoints.Verification;

/// <summary>
/// Seeded mutation fuzzing of the files a checkpoint is trusted by: state.json and checksums.sha256 parse or
/// raise a typed <see cref="KohyaException"/>, nothing else; and the whole verifier, run on checkpoints with
/// random bytes damaged, always returns a result (every problem a check, never an exception).
/// 1,000+ cases per parser normally, ten times more with KOHYAPS_LONG_FUZZ=1.
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class StateFilesFuzzTests : IClassFixture<VerifierFixture>
{
    private readonly VerifierFixture _fixture;
    private readonly ITestOutputHelper _output;

    public StateFilesFuzzTests(VerifierFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    private static readonly string[] JsonTokens =
    {
        "{", "}", "[", "]", ",", ":", "\"", "null", "true", "false", "-1", "0", "1e400", "9223372036854775808", "1.5", "\"x\"",
        "\"globalStep\"", "\"segments\"", "\"tokenizer\"", "\"formatVersion\"", "[[[[[[[[", "\\u0000", "\uFFFD", " ", "\n",
    };

    [Fact]
    public void MutatedStateFilesParseOrRaiseTypedErrors() =>
        FuzzText(File.ReadAllText(Path.Combine(_fixture.Source, CheckpointNames.StateFile)), 3000, 7101,
            text => CheckpointState.Parse(text, "state.json"));

    [Fact]
    public void MutatedChecksumListsParseOrRaiseTypedErrors() =>
        FuzzText(File.ReadAllText(Path.Combine(_fixture.Source, Checksums.FileName)), 3000, 7102,
            text => Checksums.Parse(text, "checksums.sha256"));

    private void FuzzText(string seed, int normalCases, int rngSeed, Action<string> parse)
    {
        int cases = FuzzBudget.Cases(normalCases);
        var rng = new Random(rngSeed);
        var outcomes = new Dictionary<string, int>();
        long maxAllocated = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            string text = Mutate(rng, seed);
            long before = GC.GetAllocatedBytesForCurrentThread();
            string outcome;
            try
            {
                parse(text);
                outcome = "parsed";
            }
            catch (KohyaException ex)
            {
                outcome = ex.ErrorId;
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"case {i}: {ex.GetType().Name} escaped: {ex.Message}\n--- input ---\n{text}");
            }
            maxAllocated = Math.Max(maxAllocated, GC.GetAllocatedBytesForCurrentThread() - before);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        foreach (var (k, v) in outcomes.OrderByDescending(p => p.Value))
            _output.WriteLine($"{k,-32} {v}");
        _output.WriteLine($"{cases} cases in {clock.ElapsedMilliseconds} ms, largest per-case allocation {maxAllocated:N0} bytes");
        Assert.True(outcomes.Count >= 2, "the mutations never changed the outcome: the fuzzer is not reaching the parser");
        // Allocation follows the input's real length, never a length the input claims.
        Assert.True(maxAllocated < 64 * (seed.Length + 4096), $"a case allocated {maxAllocated:N0} bytes");
    }

    private static string Mutate(Random rng, string seed)
    {
        var text = new StringBuilder(seed);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && text.Length > 0; e++)
        {
            int at = rng.Next(text.Length);
            switch (rng.Next(6))
            {
                case 0: text.Remove(at, Math.Min(text.Length - at, 1 + rng.Next(12))); break;
                case 1: text.Insert(at, JsonTokens[rng.Next(JsonTokens.Length)]); break;
                case 2: text[at] = (char)rng.Next(32, 127); break;
                case 3: text.Length = at; break;
                case 4: // swap a digit run for an extreme number
                    int end = at;
                    while (end < text.Length && char.IsAsciiDigit(text[end])) end++;
                    text.Remove(at, end - at).Insert(at, rng.Next(3) switch { 0 => "-7", 1 => "99999999999999999999", _ => "0.5" });
                    break;
                default: text.Insert(at, text.ToString(at, Math.Min(text.Length - at, rng.Next(40)))); break;
            }
        }
        return text.ToString();
    }

    [Fact]
    public void VerifierReportsRandomDamageAsChecksNeverAsExceptions()
    {
        int cases = FuzzBudget.Cases(60);
        var rng = new Random(7103);
        var files = CheckpointNames.ExpectedFiles;
        var failedChecks = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            string dir = _fixture.Copy($"fuzz-{i}");
            string file = Path.Combine(dir, files[rng.Next(files.Length)]);
            var bytes = File.ReadAllBytes(file);
            int edits = 1 + rng.Next(3);
            for (int e = 0; e < edits && bytes.Length > 0; e++)
            {
                // Damage concentrates on the start of the file, where headers and keys live.
                int at = rng.Next(2) == 0 ? rng.Next(Math.Min(bytes.Length, 512)) : rng.Next(bytes.Length);
                bytes[at] = rng.Next(3) == 0 ? (byte)rng.Next(256) : (byte)(bytes[at] ^ (1 << rng.Next(8)));
            }
            if (rng.Next(4) == 0) bytes = bytes[..rng.Next(bytes.Length + 1)];
            File.WriteAllBytes(file, bytes);
            if (rng.Next(2) == 0) Damage.Rechecksum(dir); // hide the damage from the checksums half the time

            var result = CheckpointVerifier.Test(dir, deep: rng.Next(3) == 0);
            Assert.Equal(result.Checks.All(c => c.Status != KohyaCheckStatus.Fail), result.IsValid);
            foreach (var c in result.Checks.Where(c => c.Status == KohyaCheckStatus.Fail))
            {
                Assert.False(string.IsNullOrEmpty(c.ErrorId), c.ToString());
                failedChecks[c.ErrorId] = failedChecks.GetValueOrDefault(c.ErrorId) + 1;
            }
            Directory.Delete(Path.GetDirectoryName(Path.GetDirectoryName(dir)!)!, recursive: true);
        }
        foreach (var (k, v) in failedChecks.OrderByDescending(p => p.Value))
            _output.WriteLine($"{k,-40} {v}");
        _output.WriteLine($"{cases} damaged checkpoints in {clock.ElapsedMilliseconds} ms");
        Assert.True(failedChecks.Count >= 4, "random damage should trip several different checks");
    }
}
