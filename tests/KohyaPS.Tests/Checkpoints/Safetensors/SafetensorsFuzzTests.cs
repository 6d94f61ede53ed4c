using System.Diagnostics;
using System.Text;
using KohyaPS.Engine.Checkpoints.Safetensors;
using Xunit.Abstractions;

namespace KohyaPS.Tests.Checkpoints.Safetensors;

/// <summary>
/// Seeded mutation fuzzing of valid files' headers: whatever the bytes, header parsing either succeeds with a
/// layout that tiles the data region, or throws <see cref="SafetensorsFormatException"/> — nothing else, quickly,
/// and without large allocations.
/// </summary>
public sealed class SafetensorsFuzzTests
{
    private static readonly int Cases = FuzzBudget.Cases(6000);
    private readonly ITestOutputHelper _output;

    public SafetensorsFuzzTests(ITestOutputHelper output) => _output = output;

    private static readonly (string Json, int DataLength)[] Seeds =
    {
        ("{\"__metadata__\":{\"format\":\"pt\",\"ss_network_dim\":\"16\",\"ss_tag_frequency\":\"{\\\"cat\\\": 3}\"}," +
         "\"lora_unet_down.alpha\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}," +
         "\"lora_unet_down.lora_down.weight\":{\"dtype\":\"F16\",\"shape\":[4,8],\"data_offsets\":[4,68]}," +
         "\"lora_unet_down.lora_up.weight\":{\"dtype\":\"BF16\",\"shape\":[8,4],\"data_offsets\":[68,132]}}    ", 132),
        ("{\"a\":{\"dtype\":\"I64\",\"shape\":[2,0],\"data_offsets\":[0,0]},\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}," +
         "\"c\":{\"dtype\":\"BOOL\",\"shape\":[1,1,1],\"data_offsets\":[3,4]},\"d\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[4,8]}}", 8),
        ("{\"__metadata__\":{},\"x\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8),
        ("{}      ", 0),
    };

    private static readonly string[] Tokens =
    {
        "{", "}", "[", "]", ",", ":", "\"\"", "\"__metadata__\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"F32\"", "\"BOOL\"",
        "\"F4\"", "\"X9\"", "0", "1", "4", "-1", "-0", "1.5", "1e3", "1e400", "18446744073709551615", "18446744073709551616",
        "9223372036854775807", "9223372036854775808", "4611686018427387904", "null", "true", "false", "\"\\ud800\"", "\"\\u0000\"",
        "\"\\x\"", "\"é\"", "{\"a\":{}}", "[[[[[[[[[[[[[[[[", "]]]]]]]]", " ", "\"a\"", "\"b\"", "/*", "\uFEFF",
    };

    private static readonly string[] Numbers =
        { "0", "1", "2", "3", "4", "8", "9", "64", "68", "132", "-1", "1.0", "1e2", "9223372036854775807", "18446744073709551615", "4611686018427387904" };

    private static readonly string[] Strings =
        { "\"__metadata__\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"a\"", "\"b\"", "\"x\"", "\"format\"",
          "\"F32\"", "\"F16\"", "\"U8\"", "\"I64\"", "\"F4\"", "\"C64\"", "\"BOOL\"", "\"\\u0061\"", "\"\"" };

    [Fact]
    public void MutatedHeadersOnlyEverRaiseSafetensorsFormatException()
    {
        var rng = new Random(20240607);
        var outcomes = new Dictionary<string, int>();
        long maxAllocated = 0;
        var clock = Stopwatch.StartNew();

        for (int i = 0; i < Cases; i++)
        {
            var (json, dataLength) = Seeds[rng.Next(Seeds.Length)];
            byte[] file = Mutate(rng, SafetensorsBytes.Build(json, dataLength));

            long before = GC.GetAllocatedBytesForCurrentThread();
            string outcome = Run(file, i, viaStream: i % 8 == 0);
            maxAllocated = Math.Max(maxAllocated, GC.GetAllocatedBytesForCurrentThread() - before);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        clock.Stop();

        foreach (var (k, v) in outcomes.OrderByDescending(p => p.Value))
            _output.WriteLine($"{k,-40} {v}");
        _output.WriteLine($"{Cases} cases in {clock.ElapsedMilliseconds} ms, largest per-case allocation {maxAllocated:N0} bytes");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"fuzz loop took {clock.Elapsed}");
        Assert.True(maxAllocated < 1_000_000, $"a single case allocated {maxAllocated:N0} bytes");
        // The mutations must reach past the first checks, and some must still parse.
        Assert.True(outcomes.GetValueOrDefault("ok") > 0);
        Assert.True(outcomes.Count >= 12, "mutations reached only: " + string.Join(", ", outcomes.Keys));
    }

    private static string Run(byte[] file, int caseNumber, bool viaStream)
    {
        try
        {
            SafetensorsHeader header;
            if (viaStream)
            {
                using var ms = new MemoryStream(file, writable: false);
                header = SafetensorsHeader.Read(ms, "fuzz");
            }
            else
            {
                header = SafetensorsHeader.Parse(file, "fuzz");
            }
            CheckInvariants(header, file.Length);
            return "ok";
        }
        catch (SafetensorsFormatException ex)
        {
            Assert.StartsWith("'fuzz': ", ex.Message);
            return ex.ErrorId;
        }
        catch (Exception ex)
        {
            Assert.Fail($"case {caseNumber}: {ex.GetType().Name} escaped: {ex.Message}\nfile: {Convert.ToHexString(file)}\n{ex}");
            throw;
        }
    }

    private static void CheckInvariants(SafetensorsHeader header, long fileLength)
    {
        Assert.Equal(fileLength, header.FileLength);
        long expected = 0;
        foreach (var e in header.Entries)
        {
            Assert.Equal(expected, e.Begin);
            Assert.True(e.End >= e.Begin);
            Assert.Equal(e.ElementCount * e.Dtype.GetBitSize() / 8, e.ByteLength);
            Assert.Same(e, header.GetEntry(e.Name));
            expected = e.End;
        }
        Assert.Equal(header.DataLength, expected);
    }

    private static byte[] Mutate(Random rng, byte[] file)
    {
        int headerLength = (int)SafetensorsBytes.DeclaredLength(file);
        var header = new List<byte>(file[8..(8 + headerLength)]);
        var data = file[(8 + headerLength)..];
        bool fixLength = rng.NextDouble() < 0.75; // usually keep the prefix consistent to reach deeper rules

        int rounds = rng.NextDouble() < 0.6 ? 1 : 2 + rng.Next(2);
        for (int r = 0; r < rounds; r++)
        {
            switch (rng.Next(9))
            {
                case 6: // same-kind splice: number for number, string for string (stays valid JSON more often)
                case 7:
                case 8:
                {
                    var spans = TokenSpans(header);
                    if (spans.Count == 0) break;
                    var (start, length) = spans[rng.Next(spans.Count)];
                    byte first = header[start];
                    string? replacement = first == (byte)'"' ? Strings[rng.Next(Strings.Length)]
                        : first is (byte)'-' or (>= (byte)'0' and <= (byte)'9') ? Numbers[rng.Next(Numbers.Length)]
                        : null;
                    if (replacement is null) break;
                    header.RemoveRange(start, length);
                    header.InsertRange(start, Encoding.UTF8.GetBytes(replacement));
                    break;
                }
                case 0 when header.Count > 0: // flip a bit
                    int at = rng.Next(header.Count);
                    header[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1: // insert a random byte (often printable)
                    header.Insert(rng.Next(header.Count + 1), rng.NextDouble() < 0.7 ? (byte)rng.Next(0x20, 0x7F) : (byte)rng.Next(256));
                    break;
                case 2 when header.Count > 0: // delete a run
                    int from = rng.Next(header.Count);
                    header.RemoveRange(from, Math.Min(header.Count - from, 1 + rng.Next(4)));
                    break;
                case 3: // replace a JSON token with another
                case 4:
                {
                    var spans = TokenSpans(header);
                    if (spans.Count == 0) break;
                    var (start, length) = spans[rng.Next(spans.Count)];
                    header.RemoveRange(start, length);
                    header.InsertRange(start, Encoding.UTF8.GetBytes(Tokens[rng.Next(Tokens.Length)]));
                    break;
                }
                case 5: // duplicate a token elsewhere
                {
                    var spans = TokenSpans(header);
                    if (spans.Count == 0) break;
                    var (start, length) = spans[rng.Next(spans.Count)];
                    var copy = header.GetRange(start, length);
                    header.InsertRange(spans[rng.Next(spans.Count)].Start, copy);
                    break;
                }
            }
        }

        ulong declared = fixLength ? (ulong)header.Count : DeclaredLength(rng, header.Count);
        var result = SafetensorsBytes.Build(header.ToArray(), data, declared);
        return rng.NextDouble() switch
        {
            < 0.05 => result[..rng.Next(result.Length + 1)],                           // truncate anywhere
            < 0.10 => result.Concat(Enumerable.Repeat((byte)rng.Next(256), 1 + rng.Next(9))).ToArray(), // trailing bytes
            _ => result,
        };
    }

    private static ulong DeclaredLength(Random rng, int actual) => rng.Next(6) switch
    {
        0 => (ulong)Math.Max(0, actual + rng.Next(-8, 9)),
        1 => 100_000_000,
        2 => 100_000_001,
        3 => 1UL << 63,
        4 => ulong.MaxValue,
        _ => (ulong)rng.NextInt64(),
    };

    /// <summary>Rough JSON tokens: strings, numbers/literals, and single punctuation bytes.</summary>
    private static List<(int Start, int Length)> TokenSpans(List<byte> bytes)
    {
        var spans = new List<(int, int)>();
        int i = 0;
        while (i < bytes.Count)
        {
            byte b = bytes[i];
            if (b == (byte)'"')
            {
                int j = i + 1;
                while (j < bytes.Count && bytes[j] != (byte)'"')
                    j += bytes[j] == (byte)'\\' ? 2 : 1;
                j = Math.Min(j + 1, bytes.Count);
                spans.Add((i, j - i));
                i = j;
            }
            else if (b is (byte)'{' or (byte)'}' or (byte)'[' or (byte)']' or (byte)',' or (byte)':')
            {
                spans.Add((i, 1));
                i++;
            }
            else if (b == (byte)' ')
            {
                i++;
            }
            else
            {
                int j = i;
                while (j < bytes.Count && bytes[j] is not ((byte)'{' or (byte)'}' or (byte)'[' or (byte)']' or (byte)',' or (byte)':' or (byte)' ' or (byte)'"'))
                    j++;
                spans.Add((i, j - i));
                i = j;
            }
        }
        return spans;
    }
}
