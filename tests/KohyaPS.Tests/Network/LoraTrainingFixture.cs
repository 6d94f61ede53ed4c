using KohyaPS.Contracts;
using KohyaPS.Tests.Training;

namespace KohyaPS.Tests.Network;

/// <summary>
/// Two LoRA runs of the same settings on 12 real 16 px images, shared by the class: one straight to step 6, one stopped
/// after step 3 and resumed from its checkpoint. Datasets, runs and helpers come from the resume matrix's fixture.
/// </summary>
public sealed class LoraTrainingFixture : IDisposable
{
    private readonly object _gate = new();
    private RunOutcome? _straight;
    private RunOutcome? _split;

    public LoraTrainingFixture()
    {
        Runs = new ResumeMatrixFixture();
    }

    public ResumeMatrixFixture Runs { get; }

    /// <summary>Tiny model, 16 px, batch 4, 1 thread, 6 steps, LoRA rank 4 / alpha 2 on kohya's standard set plus convolutions, dropout 0.25.</summary>
    internal static KohyaHyperparameterSet Config(long steps = 6, Action<KohyaHyperparameterSet>? tweak = null) =>
        ResumeMatrixFixture.ReferenceConfig(steps, hp =>
        {
            hp.Network.Type = "lora";
            hp.Network.Dim = 4;
            hp.Network.Alpha = 2;
            hp.Network.Dropout = 0.25;
            hp.Network.TargetModules = ["Transformer2DModel", "conv", "text_attention", "text_mlp"];
            hp.Optimizer.LearningRate = 1e-2;
            hp.Resources.Threads = 1; // a busy 2-core machine makes 2 libtorch threads spin; 1 is as exact and far faster there
            tweak?.Invoke(hp);
        });

    internal RunOutcome Straight
    {
        get
        {
            lock (_gate) return _straight ??= Runs.Straight("lora-straight", Config(), Runs.Square12);
        }
    }

    internal RunOutcome Split
    {
        get
        {
            lock (_gate) return _split ??= Runs.Interrupted("lora-split", Config(), Runs.Square12, 3);
        }
    }

    public void Dispose() => Runs.Dispose();
}
