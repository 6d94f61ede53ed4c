using System.Globalization;
using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Optim;
using KohyaPS.Engine.Training;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Checkpoints.Verification;

/// <summary>
/// Compares the tensors a checkpoint holds with what its own settings say it must hold: the model built from
/// hyperparameters.yaml and the saved tokenizer on the <c>meta</c> device (names, shapes, dtypes; no memory),
/// and the optimizer that model and settings produce. Only headers are read.
/// </summary>
internal static class StructureChecks
{
    public const string ModelCheck = "Model structure";
    public const string OptimizerCheck = "Optimizer coverage";
    private const string OptimizerMetadataPrefix = "kohyaps.optimizer.";

    public static void Run(KohyaHyperparameterSet hp, CheckpointState state, SafetensorsHeader? model, SafetensorsHeader? optimizer,
        CheckList checks, IDictionary<string, string> facts)
    {
        TrainingModel layout;
        try
        {
            var (vocabularySize, maxLength) = CaptionTokenizers.ShapeOf(state.Tokenizer);
            layout = TrainingModel.CreateLayout(hp.Model, vocabularySize, maxLength, hp.Network);
        }
        catch (Exception ex) when (ex is KohyaException or ArgumentException)
        {
            string id = ex is KohyaException k ? k.ErrorId : "CheckpointModelMismatch";
            checks.Fail(ModelCheck, id, $"The model the settings describe cannot be built: {ex.Message}");
            checks.Skip(OptimizerCheck, "The model could not be built from the settings.");
            return;
        }
        using (layout)
        {
            var expected = layout.StateTensors().ToDictionary(kv => kv.Key, kv => (kv.Value.shape, kv.Value.dtype), StringComparer.Ordinal);
            facts["Preset"] = hp.Model.Preset;
            if (layout.Lora is { } lora)
                facts["Network"] = $"lora, {lora.Modules.Count} adapters, rank {lora.Settings.Rank}, alpha {lora.Settings.Alpha.ToString(CultureInfo.InvariantCulture)}";
            facts["Parameters"] = layout.TrainableParameters.Sum(p => p.Param.numel()).ToString(CultureInfo.InvariantCulture);
            if (model is null)
                checks.Skip(ModelCheck, "model.safetensors has no readable header.");
            else
                Compare(ModelCheck, "CheckpointModelMismatch", model, expected,
                    layout.Lora is null ? $"the '{hp.Model.Preset}' model" : $"the LoRA adapters on the '{hp.Model.Preset}' model", checks);

            if (optimizer is null)
            {
                checks.Skip(OptimizerCheck, "optimizer.safetensors has no readable header.");
                return;
            }
            using var optimizerLayout = OptimizerFactory.Create(TrainingSession.OptimizerSettingsFrom(hp.Optimizer), layout.TrainableParameters);
            var want = optimizerLayout.Layout();
            facts["Optimizer"] = want.Kind;
            if (Compare(OptimizerCheck, "OptimizerStateMismatch", optimizer,
                    want.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), $"the {want.Kind} state of every trainable parameter", checks))
                CompareValues(optimizer, want, state, checks);
        }
    }

    private static bool Compare(string check, string errorId, SafetensorsHeader header,
        IReadOnlyDictionary<string, (long[] Shape, ScalarType Dtype)> expected, string what, CheckList checks)
    {
        var actual = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var missing = expected.Keys.Where(k => !actual.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = actual.Keys.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var wrong = new List<string>();
        foreach (var (name, (shape, dtype)) in expected)
        {
            if (!actual.TryGetValue(name, out var entry))
                continue;
            if (!entry.Shape.SequenceEqual(shape))
                wrong.Add($"{name} is [{string.Join(",", entry.Shape)}], expected [{string.Join(",", shape)}]");
            else if (entry.ScalarType != dtype)
                wrong.Add($"{name} is {entry.Dtype.GetName()}, expected {dtype}");
        }
        if (missing.Count + unexpected.Count + wrong.Count == 0)
        {
            checks.Pass(check, $"{expected.Count} tensors match {what}.");
            return true;
        }
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"missing {Preview(missing)}");
        if (unexpected.Count > 0) parts.Add($"unexpected {Preview(unexpected)}");
        if (wrong.Count > 0) parts.Add($"wrong {Preview(wrong)}");
        checks.Fail(check, errorId, $"Does not hold {what}: {string.Join("; ", parts)}.");
        return false;
    }

    private static void CompareValues(SafetensorsHeader optimizer, OptimizerStateLayout want, CheckpointState state, CheckList checks)
    {
        var values = optimizer.Metadata.Where(kv => kv.Key.StartsWith(OptimizerMetadataPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[OptimizerMetadataPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        var missing = want.ValueKeys.Where(k => !values.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            checks.Fail(OptimizerCheck + " (counters)", "OptimizerStateMismatch", $"Step counters or settings missing from the metadata: {Preview(missing)}.");
            return;
        }
        if (values["kind"] != want.Kind)
            checks.Fail(OptimizerCheck + " (counters)", "OptimizerStateMismatch", $"The state is {values["kind"]}'s; the settings name {want.Kind}.");
        else if (!long.TryParse(values["step"], NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            checks.Fail(OptimizerCheck + " (counters)", "OptimizerStateMismatch", $"The optimizer step '{values["step"]}' is not a count.");
        else if (step != state.GlobalStep)
            checks.Warn(OptimizerCheck + " (counters)", "OptimizerStepDiffers",
                $"The optimizer has taken {step} steps, the run {state.GlobalStep} (expected after an optimizer reset; otherwise suspicious).");
    }

    private static string Preview(IReadOnlyList<string> items) =>
        items.Count <= 4 ? string.Join(", ", items) : string.Join(", ", items.Take(4)) + $" … ({items.Count} in all)";
}
