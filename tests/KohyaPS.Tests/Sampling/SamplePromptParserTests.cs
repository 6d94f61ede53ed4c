using KohyaPS.Engine;
using KohyaPS.Engine.Diffusion;
using KohyaPS.Engine.Sampling;

namespace KohyaPS.Tests.Sampling;

public sealed class SamplePromptParserTests
{
    [Fact]
    public void ParsesEveryKohyaOption()
    {
        var p = SamplePromptParser.ParseLine("a red circle on blue --n blurry, low quality --w 32 --h 24 --d 1234 --s 12 --l 5.5", "f:1");
        Assert.Equal("a red circle on blue", p.Prompt);
        Assert.Equal("blurry, low quality", p.NegativePrompt);
        Assert.Equal(32, p.Width);
        Assert.Equal(24, p.Height);
        Assert.Equal(1234, p.Seed);
        Assert.Equal(12, p.Steps);
        Assert.Equal(5.5, p.GuidanceScale);
        Assert.Empty(p.IgnoredOptions);
    }

    [Fact]
    public void OptionsNotGivenStayUnset()
    {
        var p = SamplePromptParser.ParseLine("a green square", "f:1");
        Assert.Equal("a green square", p.Prompt);
        Assert.Null(p.NegativePrompt);
        Assert.Null(p.Width);
        Assert.Null(p.Seed);
        Assert.Null(p.Steps);
        Assert.Null(p.GuidanceScale);
    }

    [Fact]
    public void SkipsCommentsAndBlankLinesAndKeepsLineNumbers()
    {
        var prompts = SamplePromptParser.ParseLines(new[] { "# samples", "", "   ", "a cat --d 1", "  # indented comment", "a dog #2 --s 4" }, "prompts.txt");
        Assert.Equal(2, prompts.Count);
        Assert.Equal("a cat", prompts[0].Prompt);
        Assert.Equal("prompts.txt:4", prompts[0].Source);
        Assert.Equal("a dog #2", prompts[1].Prompt); // '#' after the start of a line is prompt text, as in sd-scripts
        Assert.Equal("prompts.txt:6", prompts[1].Source);
        Assert.Equal(4, prompts[1].Steps);
    }

    [Fact]
    public void LastRepeatedOptionWinsAndUnknownOptionsAreKeptAside()
    {
        var p = SamplePromptParser.ParseLine("x --s 4 --c 2 --s 6 --am 1,2", "f:3");
        Assert.Equal(6, p.Steps);
        Assert.Equal(new[] { "--c 2", "--am 1,2" }, p.IgnoredOptions);
    }

    [Fact]
    public void ALineOfOnlyOptionsIsTheEmptyPrompt()
    {
        var p = SamplePromptParser.ParseLine("--n ugly --d 3", "f:1");
        Assert.Equal("", p.Prompt);
        Assert.Equal("ugly", p.NegativePrompt);
        Assert.Equal(3, p.Seed);
    }

    [Theory]
    [InlineData("x --w abc", "--w")]
    [InlineData("x --w 20", "--w")]
    [InlineData("x --w 0", "--w")]
    [InlineData("x --h 8192", "--h")]
    [InlineData("x --h", "--h")]
    [InlineData("x --d -1", "--d")]
    [InlineData("x --d 1.5", "--d")]
    [InlineData("x --s 0", "--s")]
    [InlineData("x --s 1001", "--s")]
    [InlineData("x --s four", "--s")]
    [InlineData("x --l -1", "--l")]
    [InlineData("x --l NaN", "--l")]
    [InlineData("x --l Infinity", "--l")]
    [InlineData("x --", "--")]
    public void BadValuesAreRefusedNamingFileLineAndOption(string line, string option)
    {
        var ex = Assert.Throws<KohyaException>(() => SamplePromptParser.ParseLines(new[] { "# header", line }, "/data/prompts.txt"));
        Assert.Equal("SamplePromptInvalid", ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal("/data/prompts.txt:2", ex.Target);
        Assert.Contains("/data/prompts.txt:2", ex.Message);
        Assert.Contains(option + " ", ex.Message);
        Assert.NotNull(ex.RecommendedAction);
    }

    [Fact]
    public void ReadsAFileAndRefusesAMissingOne()
    {
        string dir = Directory.CreateTempSubdirectory("kohya-prompts-").FullName;
        try
        {
            string file = Path.Combine(dir, "prompts.txt");
            File.WriteAllLines(file, new[] { "# two prompts", "a red circle --d 5", "", "a blue square --w 16 --h 16" });
            var prompts = SamplePromptParser.ParseFile(file);
            Assert.Equal(new[] { "a red circle", "a blue square" }, prompts.Select(p => p.Prompt));
            Assert.Equal(file + ":4", prompts[1].Source);

            var ex = Assert.Throws<KohyaException>(() => SamplePromptParser.ParseFile(Path.Combine(dir, "missing.txt")));
            Assert.Equal("SamplePromptFileNotFound", ex.ErrorId);
            Assert.Equal(KohyaErrorKind.ObjectNotFound, ex.Kind);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("ddpm", SamplerKind.Ddpm)]
    [InlineData("DDIM", SamplerKind.Ddim)]
    [InlineData("euler", SamplerKind.Euler)]
    [InlineData("k_euler", SamplerKind.Euler)]
    public void MapsKohyaSamplerNames(string name, SamplerKind expected) => Assert.Equal(expected, SamplerNames.Parse(name));

    [Theory]
    [InlineData("euler_a")]
    [InlineData("pndm")]
    [InlineData("k_dpm_2")]
    [InlineData("")]
    public void RefusesOtherSamplersListingTheSupportedOnes(string name)
    {
        var ex = Assert.Throws<KohyaException>(() => SamplerNames.Parse(name, "Sampling.Sampler"));
        Assert.Equal("SamplerNotSupported", ex.ErrorId);
        Assert.Equal("Sampling.Sampler", ex.Target);
        Assert.Contains("ddpm, ddim, euler, k_euler", ex.Message);
    }

    [Fact]
    public void DefaultsFillWhatALineLeavesOpenAndSeedsCountUp()
    {
        var defaults = new SampleDefaults { Sampler = SamplerKind.Euler, Steps = 7, GuidanceScale = 3, Width = 16, Height = 24, Seed = 100, NegativePrompt = "bad" };
        var prompts = SamplePromptParser.ParseLines(new[] { "a", "b --d 5 --w 32 --n worse --s 2 --l 1" }, "p");
        var jobs = defaults.Jobs(prompts, 3);
        Assert.Equal(6, jobs.Count);
        Assert.Equal(new long[] { 100, 101, 102, 5, 6, 7 }, jobs.Select(j => j.Seed));
        Assert.Equal(new[] { 0, 1, 2, 0, 1, 2 }, jobs.Select(j => j.Index));
        Assert.Equal(new SampleJob("a", "bad", 100, 16, 24, 7, 3, SamplerKind.Euler, 0, 0), jobs[0]);
        Assert.Equal(new SampleJob("b", "worse", 6, 32, 24, 2, 1, SamplerKind.Euler, 1, 1), jobs[4]);
        Assert.Equal("001-6.png", jobs[4].FileName);
        Assert.Equal("InvalidSampleCount", Assert.Throws<KohyaException>(() => defaults.Jobs(prompts, 0)).ErrorId);
    }

    [Fact]
    public void TrailingTimestepsStartAtTheLastTrainingTimestep()
    {
        var schedule = new NoiseSchedule("scaled_linear", 0.00085, 0.012, 1000);
        Assert.Equal(new[] { 999, 749, 499, 249 }, schedule.TrailingTimesteps(4));
        Assert.Equal(new[] { 999 }, schedule.TrailingTimesteps(1));
        Assert.Equal(Enumerable.Range(0, 1000).Reverse(), schedule.TrailingTimesteps(1000));
        // diffusers: np.round(np.arange(1000, 0, -1000/3)) - 1 = [999, 666, 332] (half to even)
        Assert.Equal(new[] { 999, 666, 332 }, schedule.TrailingTimesteps(3));
        Assert.Equal("InvalidSamplingSteps", Assert.Throws<KohyaException>(() => schedule.TrailingTimesteps(0)).ErrorId);
        Assert.Equal("InvalidSamplingSteps", Assert.Throws<KohyaException>(() => schedule.TrailingTimesteps(1001)).ErrorId);
        Assert.Equal(Math.Sqrt((1 - schedule.AlphasCumprod[500]) / schedule.AlphasCumprod[500]), schedule.Sigma(500));
    }
}
