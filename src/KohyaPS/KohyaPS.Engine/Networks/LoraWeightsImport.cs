using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Networks;

/// <summary>
/// Starts a LoRA run from the weights of an existing kohya-format LoRA file (sd-scripts' <c>--network_weights</c>):
/// every adapter the network has must be in the file with the same shapes and alpha, and the file may hold nothing
/// else. Weights only — a kohya LoRA file carries no optimizer state, so the optimizer starts fresh.
/// </summary>
public static class LoraWeightsImport
{
    /// <summary>Copies the file's adapters into <paramref name="network"/>; returns the warnings to state to the user.</summary>
    /// <param name="targets">Where the weights go, by the network's names; null: the adapters' own tensors (under mixed
    /// precision the model passes its float32 masters, so the file's values are not rounded to the compute dtype).</param>
    public static IReadOnlyList<string> Load(LoraNetwork network, string path, IEnumerable<KeyValuePair<string, Tensor>>? targets = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new KohyaException("NetworkWeightsNotFound", KohyaErrorKind.ObjectNotFound, $"LoRA file '{full}' does not exist.", target: full)
            {
                RecommendedAction = "Give the path of a kohya-format LoRA .safetensors file (for example one written by Export-KohyaLora).",
            };
        var info = KohyaLoraReader.Read(full, verifyHashes: true);
        if (!info.IsValid)
            throw new KohyaException("NetworkWeightsInvalid", KohyaErrorKind.InvalidData,
                $"'{full}' is not a usable kohya LoRA file: {string.Join("; ", info.Findings.Where(f => f.Severity == KohyaFindingSeverity.Error))}.", target: full)
            {
                RecommendedAction = "Check the file with Test-KohyaCheckpoint -Path <file>; give a LoRA .safetensors made for this model.",
            };

        var map = KeyMapOf(network);
        var own = (targets ?? network.StateTensors()).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        using var file = SafetensorsFile.Open(full);
        var byOurName = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        foreach (var entry in file.Entries)
        {
            if (map.TryToOurName(entry.Name, out string? ours) && own.ContainsKey(ours))
                byOurName[ours] = entry;
            else
                unexpected.Add(entry.Name);
        }
        var missing = own.Keys.Where(k => !byOurName.ContainsKey(k)).Select(k => map.ToKohyaName(k)).ToList();
        var wrong = new List<string>();
        foreach (var (name, entry) in byOurName)
        {
            var target = own[name];
            if (!entry.Shape.SequenceEqual(target.shape))
                wrong.Add($"{entry.Name} [{string.Join(",", entry.Shape)}], the network has [{string.Join(",", target.shape)}]");
        }
        foreach (var (name, entry) in byOurName.Where(kv => kv.Key.EndsWith(LoraNetwork.AlphaSuffix, StringComparison.Ordinal)))
        {
            if (wrong.Any(w => w.StartsWith(entry.Name + " ", StringComparison.Ordinal)))
                continue;
            using var alpha = file.ReadTensor(entry.Name);
            double value = alpha.to(float64).item<double>();
            if (Math.Abs(value - network.Settings.Alpha) > 1e-3 * Math.Max(1, network.Settings.Alpha))
                wrong.Add($"{entry.Name} alpha {value.ToString("G6", CultureInfo.InvariantCulture)}, Network.Alpha is {network.Settings.Alpha.ToString("G6", CultureInfo.InvariantCulture)}");
        }
        if (missing.Count + unexpected.Count + wrong.Count > 0)
            throw new KohyaException("NetworkWeightsMismatch", KohyaErrorKind.InvalidData,
                $"'{full}' does not fit the LoRA network these settings build ({network.Modules.Count} adapters, rank {network.Settings.Rank}): " +
                string.Join("; ", new[] { ("missing", missing), ("not in the network", unexpected), ("different", wrong) }
                    .Where(p => p.Item2.Count > 0).Select(p => $"{p.Item1} [{Preview(p.Item2)}]")) + ".",
                target: full)
            {
                RecommendedAction = "Use the Network.Dim, Network.Alpha, Network.TargetModules and Model settings the file was trained with (Get-KohyaCheckpoint -Path <file> shows its dim, alpha and modules).",
            };

        using (torch.no_grad())
        {
            foreach (var (name, entry) in byOurName)
            {
                using var scope = torch.NewDisposeScope();
                var target = own[name];
                target.copy_(file.ReadTensor(entry.Name).to(target.dtype, target.device));
            }
        }
        return
        [
            $"Continuing from the LoRA weights in '{full}' ({network.Modules.Count} adapters): weights only. The optimizer state (moments, step counts) " +
            "starts fresh and the learning-rate schedule starts at step 0 — a kohya LoRA file holds neither — so this is a new run on those weights, not an exact continuation.",
        ];
    }

    /// <summary>The key map between the network's adapter names and kohya's names.</summary>
    public static KohyaLoraKeyMap KeyMapOf(LoraNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var names = network.ModuleNames;
        const string text = "text_encoder.";
        return new KohyaLoraKeyMap(
            names.Where(n => n.StartsWith(LoraNetwork.UNetPrefix, StringComparison.Ordinal)).Select(n => n[LoraNetwork.UNetPrefix.Length..]),
            names.Where(n => n.StartsWith(text, StringComparison.Ordinal)).Select(n => n[text.Length..]));
    }

    private static string Preview(IReadOnlyList<string> keys) =>
        keys.Count <= 6 ? string.Join(", ", keys) : string.Join(", ", keys.Take(6)) + $", … ({keys.Count} in all)";
}
