using KohyaPS.Engine.Metrics;
using KohyaPS.Tests.Models;
using Xunit.Abstractions;

namespace KohyaPS.Tests.Evaluation;

/// <summary>
/// Sampling and metrics end to end: the demo model (<see cref="TrainedDemoModelFixture"/>), sampled with the demo's own
/// kind of prompts, is scored by the embedded attribute classifier — after training its samples must be measurably
/// closer to the data (FID against the training images) and to their prompts (shape and colour as the classifier sees
/// them) than right after its first step.
/// </summary>
[Collection(TorchDefaultGeneratorCollection.Name)]
public sealed class SampleQualityTests : IClassFixture<TrainedDemoModelFixture>
{
    private readonly TrainedDemoModelFixture _model;

    public SampleQualityTests(TrainedDemoModelFixture model, ITestOutputHelper output)
    {
        _model = model;
        output.WriteLine(model.Describe());
    }

    [Fact]
    public void TrainingBringsTheDemoModelsSamplesCloserToItsData()
    {
        var (early, late) = (_model.Early, _model.Late);
        Assert.Equal(1.0, late.Consistency ?? 1.0); // the same prompt and seed twice give the same image
        // Noise at step 1, images of the data's colours and layout after training: the feature statistics move towards the data's.
        Assert.True(late.Fid < 0.8 * early.Fid, $"FID against the data did not fall: {_model.Describe()}");
    }

    [Fact]
    public void TheDemoModelAfterTrainingScoresHigherPromptAlignmentThanAtStepOne()
    {
        var (early, late) = (_model.Early, _model.Late);
        int n = late.AlignmentCount;
        Assert.Equal(TrainedDemoModelFixture.Prompts.Length * TrainedDemoModelFixture.SeedsPerPrompt, n);
        // Chance is 1/5 for the shape, 1/8 for the colour and 1/40 for both: 5 or more of 24 samples right in both by
        // chance has a probability below 0.001, 12 or more of 24 in colour below 1e-5. Measured: 9 and 18 of 24.
        double margin = 5.0 / n;
        Assert.True(late.PromptAlignment >= early.PromptAlignment + margin,
            $"Prompt alignment did not rise by at least {margin:P0} (5 of {n} samples): {_model.Describe()}");
        Assert.True(late.ColorAccuracy >= 0.5, $"The samples' colours do not follow the prompt: {_model.Describe()}");
        Assert.True(late.ColorAccuracy > early.ColorAccuracy, $"Colour accuracy did not rise: {_model.Describe()}");
    }
}
