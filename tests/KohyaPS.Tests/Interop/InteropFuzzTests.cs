using System.Diagnostics;
using System.Text;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Interop;
using Xunit.Abstractions;

namespace KohyaPS.Tests.Interop;

/// <summary>
/// Seeded mutation fuzzing of the foreign-format readers: train_state.json text, LoRA metadata, tensor names,
/// dtypes and shapes, and raw header bytes. Whatever the input, only <see cref="KohyaException"/>-derived errors may
/// escape the parsers, and folder inspection never throws at all. 1,000 cases per target by default; 10,000 with
/// <c>KOHYAPS_LONG_FUZZ=1</c>.
/// </summary>
public sealed class InteropFuzzTests : InteropTempFolder
{
    private static readonly int Cases = Environment.GetEnvironmentVariable("KOHYAPS_LONG_FUZZ") == "1" ? 10_000 : 1_000;
    private readonly ITestOutputHelper _output;

    public InteropFuzzTests(ITestOutputHelper output) => _output = output;

    private static readonly string[] StateSeeds =
    [
        "{\"current_epoch\": 2, \"current_step\": 400}",
        "{\"current_step\": 0, \"current_epoch\": 0, \"extra\": [1, {\"a\": null}]}",
        "\uFEFF{\"current_epoch\":1,\"current_step\":9223372036854775807}\n",
    ];

    private static readonly string[] StateTokens =
    [
        "{", "}", "[", "]", ",", ":", "\"current_epoch\"", "\"current_step\"", "\"x\"", "0", "-1", "-0", "1.5", "1e3", "007",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "true", "false", "null", "NaN", "Infinity",
        "\"\\ud800\"", "\"\\u0000\"", "\"é\"", "/*c*/", "//", " ", "\n", "{\"a\":{\"b\":[[[[]]]]}}",
    ];

    [Fact]
    public void MutatedTrainStatesOnlyRaiseTypedErrors()
    {
        var rng = new Random(20261125);
        var outcomes = new Dictionary<string, int>();
        for (int i = 0; i < Cases; i++)
        {
            byte[] text = MutateState(rng, StateSeeds[rng.Next(StateSeeds.Length)]);
            string outcome;
            try
            {
                var state = SdScriptsTrainState.Parse(text, "fuzz");
                Assert.True(state.CurrentEpoch >= 0 && state.CurrentStep >= 0);
                outcome = "ok";
            }
            catch (KohyaException ex)
            {
                Assert.StartsWith("SdScriptsTrainState", ex.ErrorId, StringComparison.Ordinal);
                outcome = ex.ErrorId;
            }
            catch (Exception ex)
            {
                Assert.Fail($"case {i}: {ex.GetType().Name} escaped: {ex.Message}\ninput: {Convert.ToHexString(text)}");
                throw;
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        Report(outcomes);
        Assert.True(outcomes.GetValueOrDefault("ok") > 0);
        Assert.Equal(5, outcomes.Count); // ok + every one of the four train-state error ids was reached
    }

    [Fact]
    public void MutatedLoraFilesOnlyRaiseTypedErrorsAndFoldersNeverThrow()
    {
        var rng = new Random(8675309);
        var outcomes = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();
        string file = PathFor("fuzz.safetensors");
        for (int i = 0; i < Cases; i++)
        {
            byte[] bytes = RandomLora(rng);
            if (rng.NextDouble() < 0.5)
                bytes = MutateBytes(rng, bytes);
            File.WriteAllBytes(file, bytes);
            string outcome;
            try
            {
                var info = KohyaLoraReader.Read(file, verifyHashes: rng.NextDouble() < 0.7);
                outcome = info.IsValid ? "ok" : "findings:" + info.Findings.First(f => f.Severity == KohyaFindingSeverity.Error).ErrorId;
            }
            catch (KohyaException ex)
            {
                outcome = ex.ErrorId;
            }
            catch (Exception ex)
            {
                Assert.Fail($"case {i}: {ex.GetType().Name} escaped: {ex.Message}\nfile: {Convert.ToHexString(bytes)}\n{ex}");
                throw;
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;

            if (i % 20 == 0)
                InspectStateFolder(rng, i, bytes);
        }
        clock.Stop();
        Report(outcomes);
        _output.WriteLine($"{Cases} cases in {clock.ElapsedMilliseconds} ms");
        Assert.True(outcomes.GetValueOrDefault("ok") > 0);
        Assert.True(outcomes.Keys.Count(k => k.StartsWith("findings:", StringComparison.Ordinal)) >= 5, string.Join(", ", outcomes.Keys));
        Assert.True(outcomes.Keys.Count(k => k.StartsWith("Safetensors", StringComparison.Ordinal)) >= 5, string.Join(", ", outcomes.Keys));
    }

    /// <summary>An sd-scripts state folder holding the fuzzed model and a fuzzed train_state.json: inspection reports, never throws.</summary>
    private void InspectStateFolder(Random rng, int i, byte[] model)
    {
        string dir = PathFor($"run-{i}", "x-step00000400-state");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), model);
        File.WriteAllBytes(Path.Combine(dir, "train_state.json"), MutateState(rng, StateSeeds[0]));
        try
        {
            var info = ForeignCheckpointDetector.Inspect(dir, verifyLoraHashes: true);
            Assert.NotNull(info);
            Assert.Equal(KohyaForeignFormat.SdScriptsState, info.Format);
            Assert.Equal(ForeignCheckpointDetector.Scan(PathFor($"run-{i}"), verifyLoraHashes: true).Single().Findings.Count, info.Findings.Count);
        }
        catch (Exception ex)
        {
            Assert.Fail($"case {i}: inspecting the folder threw {ex.GetType().Name}: {ex.Message}\n{ex}");
        }
        Directory.Delete(PathFor($"run-{i}"), recursive: true);
    }

    private static readonly string[] ModuleNames =
    [
        "lora_unet_down_blocks_0_attentions_0_proj_in", "lora_te_text_model_encoder_layers_0_mlp_fc1", "lora_te1_x", "lora_te2_x",
        "lora_unet_", "lora_unet_a.b", "lora_vae_x", "", "lora_unet_mid_block_attentions_0_proj_out",
    ];

    private static readonly string[] Suffixes = [".lora_down.weight", ".lora_up.weight", ".alpha", ".hada_w1_a", ".weight", ""];

    private static readonly (string Name, int Size)[] Dtypes = [("F16", 2), ("F32", 4), ("BF16", 2), ("F64", 8), ("I64", 8), ("U8", 1), ("BOOL", 1)];

    private static readonly string[] MetaKeys =
    [
        "ss_network_dim", "ss_network_alpha", "ss_steps", "ss_epoch", "ss_learning_rate", "ss_training_started_at", "ss_training_finished_at",
        "ss_network_module", "ss_base_model_version", "ss_output_name", "sshs_model_hash", "sshs_legacy_hash", "modelspec.title", "ss_tag_frequency",
    ];

    private static readonly string[] MetaValues =
    [
        "", "None", "0", "-1", "16", "16.0", "1e-05", "nan", "inf", "-inf", "1e999", "9223372036854775808", "1732550400.5", "-1732550400",
        "253402300800", "abc", "\"quoted\"", "\\", "\n", "é", "😀", new string('9', 400), "0x10", "True", "[0.0001, 0.0002]",
    ];

    /// <summary>A random, format-valid safetensors file made of kohya-ish tensors and metadata.</summary>
    private static byte[] RandomLora(Random rng)
    {
        var builder = new LoraFileBuilder();
        int modules = rng.Next(4);
        for (int m = 0; m < modules; m++)
        {
            string module = ModuleNames[rng.Next(ModuleNames.Length)];
            if (rng.NextDouble() < 0.6)
            {
                var (dtype, _) = rng.NextDouble() < 0.8 ? Dtypes[rng.Next(3)] : Dtypes[rng.Next(Dtypes.Length)];
                int rank = rng.Next(1, 5), inDim = rng.Next(1, 9), outDim = rng.Next(1, 9);
                if (dtype is "F16" or "F32" or "BF16" or "F64")
                    builder.Linear(module, rank, inDim, outDim, rng.NextDouble() < 0.1 ? float.NaN : rng.Next(0, 17), dtype, rng.Next());
            }
            int extra = rng.Next(3);
            for (int e = 0; e < extra; e++)
            {
                var (dtype, size) = Dtypes[rng.Next(Dtypes.Length)];
                long[] shape = Enumerable.Range(0, rng.Next(5)).Select(_ => (long)rng.Next(0, 5)).ToArray();
                long count = shape.Aggregate(1L, (a, b) => a * b);
                var data = new byte[count * size];
                rng.NextBytes(data);
                if (dtype == "BOOL") for (int b = 0; b < data.Length; b++) data[b] &= 1;
                string name = module + Suffixes[rng.Next(Suffixes.Length)];
                builder.Remove(name).Tensor(name, dtype, shape, data);
            }
        }
        int metas = rng.Next(6);
        for (int k = 0; k < metas; k++)
            builder.Meta(MetaKeys[rng.Next(MetaKeys.Length)], MetaValues[rng.Next(MetaValues.Length)]);
        return builder.Build(hashes: rng.NextDouble() < 0.7);
    }

    /// <summary>Byte-level damage: header bytes flipped/inserted/deleted (length prefix usually kept consistent), truncation, data flips.</summary>
    private static byte[] MutateBytes(Random rng, byte[] file)
    {
        long n = BitConverter.ToInt64(file, 0);
        var header = new List<byte>(file[8..(int)(8 + n)]);
        byte[] data = file[(int)(8 + n)..];
        switch (rng.Next(6))
        {
            case 0 when header.Count > 0:
                header[rng.Next(header.Count)] ^= (byte)(1 << rng.Next(8));
                break;
            case 1:
                header.Insert(rng.Next(header.Count + 1), (byte)"{}[],:\"0-9ae \\"[rng.Next(14)]);
                break;
            case 2 when header.Count > 0:
                int at = rng.Next(header.Count);
                header.RemoveRange(at, Math.Min(header.Count - at, 1 + rng.Next(6)));
                break;
            case 3 when data.Length > 0:
                data[rng.Next(data.Length)] ^= 0x80;
                break;
            case 4:
                return file[..rng.Next(file.Length + 1)];
            default:
                return [.. file, .. Enumerable.Repeat((byte)rng.Next(256), 1 + rng.Next(8))];
        }
        long declared = rng.NextDouble() < 0.8 ? header.Count : rng.Next(6) switch
        {
            0 => long.MaxValue,
            1 => 100_000_001,
            _ => Math.Max(0, header.Count + rng.Next(-9, 10)),
        };
        return [.. BitConverter.GetBytes(declared), .. header, .. data];
    }

    private static byte[] MutateState(Random rng, string seed)
    {
        var tokens = Tokenize(seed);
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            int at = rng.Next(tokens.Count + 1);
            switch (rng.Next(4))
            {
                case 0 when tokens.Count > 0: tokens[Math.Min(at, tokens.Count - 1)] = StateTokens[rng.Next(StateTokens.Length)]; break;
                case 1: tokens.Insert(at, StateTokens[rng.Next(StateTokens.Length)]); break;
                case 2 when tokens.Count > 0: tokens.RemoveAt(Math.Min(at, tokens.Count - 1)); break;
                default:
                    // keep it valid JSON more often: replace a number with another number
                    int number = tokens.FindIndex(t => t.Length > 0 && (char.IsDigit(t[0]) || t[0] == '-'));
                    if (number >= 0) tokens[number] = StateTokens[9 + rng.Next(9)];
                    break;
            }
        }
        byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(tokens));
        if (rng.NextDouble() < 0.05 && bytes.Length > 0)
            bytes[rng.Next(bytes.Length)] = (byte)rng.Next(0x80, 0x100); // invalid UTF-8 somewhere
        return bytes;
    }

    /// <summary>JSON-ish tokens: strings, runs of number/literal characters, and single other characters.</summary>
    private static List<string> Tokenize(string s)
    {
        var tokens = new List<string>();
        for (int i = 0; i < s.Length;)
        {
            int j = i + 1;
            if (s[i] == '"')
            {
                while (j < s.Length && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
                j = Math.Min(j + 1, s.Length);
            }
            else if (char.IsLetterOrDigit(s[i]) || s[i] is '-' or '.' or '+')
            {
                while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] is '-' or '.' or '+')) j++;
            }
            tokens.Add(s[i..j]);
            i = j;
        }
        return tokens;
    }

    private void Report(Dictionary<string, int> outcomes)
    {
        foreach (var (k, v) in outcomes.OrderByDescending(p => p.Value))
            _output.WriteLine($"{k,-50} {v}");
    }
}
