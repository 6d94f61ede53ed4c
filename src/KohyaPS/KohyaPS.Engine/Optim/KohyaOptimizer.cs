using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Optim;

/// <summary>
/// An optimizer whose complete state can be exported and imported bitwise, so a resumed run continues
/// exactly as the uninterrupted one would have.
/// </summary>
/// <remarks>
/// <para>State is allocated up front (zeros, as PyTorch's lazy initialisation would produce) for every
/// parameter and slot, so the set of state keys depends only on the parameter names and the optimizer kind.
/// Each parameter keeps its own step count, advanced only on steps where it had a gradient (PyTorch keeps
/// <c>state[p]["step"]</c> per parameter the same way; Adam's bias correction uses it).</para>
/// <para>The optimizer owns its state tensors and detaches them from any dispose scope; dispose it when done.
/// One learning rate applies to every parameter (no parameter groups).</para>
/// </remarks>
public abstract class KohyaOptimizer : IDisposable
{
    private readonly Entry[] _entries;
    private readonly string[] _slots;
    private bool _disposed;

    private protected KohyaOptimizer(
        OptimizerSettings settings,
        IReadOnlyList<(string Name, Parameter Param)> parameters,
        IReadOnlyList<string> slots)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(parameters);
        settings.Validate();
        Settings = settings with { Type = settings.CanonicalType! };
        Kind = Settings.Type;
        _slots = slots.ToArray();

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < parameters.Count; i++)
        {
            var (name, param) = parameters[i];
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException($"Parameter #{i} has no name.", nameof(parameters));
            if (param is null)
                throw new ArgumentException($"Parameter '{name}' is null.", nameof(parameters));
            if (!seen.Add(name))
                throw new ArgumentException($"Parameter name '{name}' appears more than once.", nameof(parameters));
        }

        _entries = new Entry[parameters.Count];
        using (torch.no_grad())
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var (name, param) = parameters[i];
                var state = new Tensor[_slots.Length];
                for (int s = 0; s < state.Length; s++)
                    state[s] = torch.zeros_like(param).DetachFromDisposeScope();
                _entries[i] = new Entry(name, param, state);
            }
        }
    }

    /// <summary>Canonical optimizer name: <c>AdamW</c>, <c>Adam</c>, <c>SGD</c> or <c>Lion</c>.</summary>
    public string Kind { get; }

    /// <summary>The settings this optimizer runs with (type canonicalised, nothing else changed).</summary>
    public OptimizerSettings Settings { get; }

    /// <summary>How many times <see cref="Step"/> has run (including steps where no parameter had a gradient).</summary>
    public long StepCount { get; private set; }

    /// <summary>Parameter names in the order given.</summary>
    public IReadOnlyList<string> ParameterNames => _entries.Select(e => e.Name).ToArray();

    /// <summary>State slots per parameter, e.g. <c>exp_avg</c>, <c>exp_avg_sq</c>; empty for SGD without momentum.</summary>
    public IReadOnlyList<string> SlotNames => _slots;

    /// <summary>
    /// One update of every parameter that has a gradient, in place, under no_grad and inside its own dispose
    /// scope. Parameters whose gradient is null are skipped and their step count does not advance.
    /// </summary>
    public void Step(double learningRate)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!double.IsFinite(learningRate) || learningRate < 0)
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a finite number >= 0.");

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var e in _entries)
        {
            var grad = e.Param.grad;
            if (grad is null)
                continue;
            e.Step++;
            Update(e.Param, grad, e.State, e.Step, learningRate);
        }
        StepCount++;
    }

    /// <summary>Sets every gradient to null (PyTorch's <c>zero_grad(set_to_none=True)</c>); costs no tensor work.</summary>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var e in _entries)
            e.Param.grad = null!;
    }

    /// <summary>
    /// The whole state as CPU copies (contiguous, same dtype as the parameters) plus scalars:
    /// <c>kind</c>, <c>step</c> (<see cref="StepCount"/>), <c>"&lt;name&gt;.step"</c> per parameter, and the settings.
    /// The caller owns the result.
    /// </summary>
    public OptimizerState ExportState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["kind"] = Kind,
            ["step"] = StepCount.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var e in _entries)
        {
            for (int s = 0; s < _slots.Length; s++)
                tensors.Add(Key(e.Name, _slots[s]), CpuCopy(e.State[s]));
            values.Add(Key(e.Name, "step"), e.Step.ToString(CultureInfo.InvariantCulture));
        }
        foreach (var (key, value) in ExportSettings())
            values.Add(key, value);
        return new OptimizerState(tensors, values);
    }

    /// <summary>
    /// The keys <see cref="ExportState"/> writes, with each tensor's shape and dtype, without copying anything:
    /// works for parameters on the <c>meta</c> device, so a checker can describe a checkpoint's expected
    /// optimizer file from its settings alone.
    /// </summary>
    public OptimizerStateLayout Layout()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tensors = new Dictionary<string, (long[] Shape, ScalarType Dtype)>(StringComparer.Ordinal);
        var values = new List<string> { "kind", "step" };
        foreach (var e in _entries)
        {
            foreach (var slot in _slots)
                tensors.Add(Key(e.Name, slot), (e.Param.shape, e.Param.dtype));
            values.Add(Key(e.Name, "step"));
        }
        values.AddRange(ExportSettings().Select(s => s.Key));
        return new OptimizerStateLayout(Kind, tensors, values);
    }

    /// <summary>
    /// Restores a state produced by <see cref="ExportState"/> bitwise. Every key is checked before anything is
    /// changed: missing, unexpected, wrongly shaped or typed keys, a different kind or unreadable counts throw
    /// <see cref="OptimizerStateMismatchException"/> (ErrorId <c>OptimizerStateMismatch</c>) and leave the
    /// optimizer untouched. Recorded settings must be readable but may differ: the optimizer's own settings win
    /// (comparing hyperparameters across a resume is the checkpoint checker's job).
    /// </summary>
    public void ImportState(OptimizerState state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(state);

        var missing = new List<string>();
        var unexpected = new List<string>();
        var mismatched = new List<string>();
        var expectedTensors = new HashSet<string>(StringComparer.Ordinal);
        var sources = new Tensor[_entries.Length][];
        var steps = new long[_entries.Length];

        // Tensors.
        for (int i = 0; i < _entries.Length; i++)
        {
            var e = _entries[i];
            sources[i] = new Tensor[_slots.Length];
            for (int s = 0; s < _slots.Length; s++)
            {
                string key = Key(e.Name, _slots[s]);
                expectedTensors.Add(key);
                if (!state.Tensors.TryGetValue(key, out var src))
                {
                    missing.Add(key);
                    continue;
                }
                var target = e.State[s];
                if (src is null)
                    mismatched.Add($"{key}: no tensor");
                else if (!src.shape.SequenceEqual(target.shape))
                    mismatched.Add($"{key}: shape {Shape(src.shape)}, expected {Shape(target.shape)}");
                else if (src.dtype != target.dtype)
                    mismatched.Add($"{key}: dtype {src.dtype}, expected {target.dtype}");
                else
                    sources[i][s] = src;
            }
        }
        unexpected.AddRange(state.Tensors.Keys.Where(k => !expectedTensors.Contains(k)).Order(StringComparer.Ordinal));

        // Scalars.
        var expectedValues = new HashSet<string>(StringComparer.Ordinal) { "kind", "step" };
        if (!state.Values.TryGetValue("kind", out var kind))
            missing.Add("kind");
        else if (!string.Equals(kind, Kind, StringComparison.Ordinal))
            mismatched.Add($"kind: '{kind}', expected '{Kind}'");

        long globalStep = ReadCount(state, "step", missing, mismatched) ?? -1;
        for (int i = 0; i < _entries.Length; i++)
        {
            string key = Key(_entries[i].Name, "step");
            expectedValues.Add(key);
            long? step = ReadCount(state, key, missing, mismatched);
            if (step is { } n && globalStep >= 0 && n > globalStep)
                mismatched.Add($"{key}: {n} exceeds the optimizer step {globalStep}");
            steps[i] = step ?? 0;
        }
        foreach (var (key, _) in ExportSettings())
        {
            expectedValues.Add(key);
            if (!state.Values.TryGetValue(key, out var text))
                missing.Add(key);
            else if (!IsReadableSetting(text))
                mismatched.Add($"{key}: '{text}' is not a number or boolean");
        }
        unexpected.AddRange(state.Values.Keys.Where(k => !expectedValues.Contains(k)).Order(StringComparer.Ordinal));

        if (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0)
            throw new OptimizerStateMismatchException(Kind, missing, unexpected, mismatched);

        using (torch.no_grad())
        {
            for (int i = 0; i < _entries.Length; i++)
            {
                for (int s = 0; s < _slots.Length; s++)
                    _entries[i].State[s].copy_(sources[i][s]);
                _entries[i].Step = steps[i];
            }
        }
        StepCount = globalStep;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var e in _entries)
            foreach (var t in e.State)
                t.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Updates one parameter in place. Runs under no_grad inside the step's dispose scope, so temporaries need
    /// no disposal. <paramref name="step"/> is this parameter's 1-based step count including this update.
    /// </summary>
    private protected abstract void Update(Tensor param, Tensor grad, Tensor[] state, long step, double lr);

    /// <summary>The settings recorded in <see cref="OptimizerState.Values"/> (invariant culture).</summary>
    private protected abstract IEnumerable<(string Key, string Value)> ExportSettings();

    internal static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    internal static string Format(bool value) => value ? "true" : "false";

    private static string Key(string name, string slot) => name + "." + slot;

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static bool IsReadableSetting(string? text) =>
        text is "true" or "false" || double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static long? ReadCount(OptimizerState state, string key, List<string> missing, List<string> mismatched)
    {
        if (!state.Values.TryGetValue(key, out var text))
        {
            missing.Add(key);
            return null;
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
        {
            mismatched.Add($"{key}: '{text}' is not a step count");
            return null;
        }
        return n;
    }

    private static Tensor CpuCopy(Tensor t)
    {
        var copy = t.device_type == DeviceType.CPU ? t.clone() : t.cpu();
        if (copy.is_contiguous())
            return copy;
        var contiguous = copy.contiguous();
        copy.Dispose();
        return contiguous;
    }

    private sealed class Entry(string name, Parameter param, Tensor[] state)
    {
        public string Name { get; } = name;
        public Parameter Param { get; } = param;
        public Tensor[] State { get; } = state;
        public long Step { get; set; }
    }
}
