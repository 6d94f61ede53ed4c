using System.Globalization;

namespace KohyaPS.Engine.Sampling;

/// <summary>
/// kohya sd-scripts' sample prompt lines: the prompt, then options each introduced by " --":
/// <c>--n</c> negative prompt, <c>--w</c>/<c>--h</c> size in pixels, <c>--d</c> seed, <c>--s</c> steps,
/// <c>--l</c> guidance scale. A line whose first non-blank character is <c>#</c> is a comment and blank lines
/// are skipped (a <c>#</c> later in a line is prompt text, as in sd-scripts). A repeated option: the last wins.
/// Options sd-scripts knows but this version does not use (e.g. <c>--c</c>) are kept in
/// <see cref="SamplePrompt.IgnoredOptions"/>; a value that does not fit its option is refused with
/// <c>SamplePromptInvalid</c>, naming the file, the line and the option.
/// </summary>
public static class SamplePromptParser
{
    public const int MinSize = 8;
    public const int MaxSize = 4096;
    public const int MaxSteps = 1000;

    /// <summary>Reads a prompts file; a missing file is <c>SamplePromptFileNotFound</c>.</summary>
    public static IReadOnlyList<SamplePrompt> ParseFile(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new KohyaException("SamplePromptFileNotFound", KohyaErrorKind.ObjectNotFound,
                $"The sample prompts file '{full}' does not exist.", target: full)
            {
                RecommendedAction = "Give an existing file (one prompt per line, options after ' --'), or the prompts themselves.",
            };
        return ParseLines(File.ReadAllLines(full), full);
    }

    /// <summary>Parses lines; <paramref name="source"/> names where they came from ("file" or "Sampling.Prompts").</summary>
    public static IReadOnlyList<SamplePrompt> ParseLines(IEnumerable<string> lines, string source)
    {
        var prompts = new List<SamplePrompt>();
        int number = 0;
        foreach (string raw in lines)
        {
            number++;
            string line = (raw ?? "").Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            prompts.Add(ParseLine(line, $"{source}:{number}"));
        }
        return prompts;
    }

    /// <summary>One non-comment line; <paramref name="where"/> is "source:line".</summary>
    public static SamplePrompt ParseLine(string line, string where)
    {
        string text = line.Trim();
        // A line that is only options ("--n blurry") has an empty prompt: the unconditional sample.
        if (text.StartsWith("--", StringComparison.Ordinal))
            text = " " + text;
        string[] parts = text.Split(" --");
        var prompt = new SamplePrompt(parts[0].Trim(), where);
        var ignored = new List<string>();
        foreach (string part in parts.Skip(1))
        {
            string option = part.Trim();
            int space = option.IndexOfAny(new[] { ' ', '\t' });
            string name = space < 0 ? option : option[..space];
            string value = space < 0 ? "" : option[(space + 1)..].Trim();
            prompt = name switch
            {
                "n" => prompt with { NegativePrompt = value },
                "w" => prompt with { Width = Size(value, name, where) },
                "h" => prompt with { Height = Size(value, name, where) },
                "d" => prompt with { Seed = Seed(value, where) },
                "s" => prompt with { Steps = Steps(value, where) },
                "l" => prompt with { GuidanceScale = Guidance(value, where) },
                "" => throw Invalid(where, "--", value, "an option needs a name (--n, --w, --h, --d, --s or --l)"),
                _ => Ignore(prompt, ignored, $"--{name} {value}".TrimEnd()),
            };
        }
        return prompt with { IgnoredOptions = ignored };
    }

    private static SamplePrompt Ignore(SamplePrompt prompt, List<string> ignored, string option)
    {
        ignored.Add(option);
        return prompt;
    }

    private static int Size(string value, string name, string where)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size < MinSize || size > MaxSize || size % 8 != 0)
            throw Invalid(where, "--" + name, value, $"must be a multiple of 8 between {MinSize} and {MaxSize} pixels");
        return size;
    }

    private static long Seed(string value, string where)
    {
        if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long seed) || seed < 0)
            throw Invalid(where, "--d", value, "must be a whole number from 0 (the seed)");
        return seed;
    }

    private static int Steps(string value, string where)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int steps) || steps < 1 || steps > MaxSteps)
            throw Invalid(where, "--s", value, $"must be a whole number of steps from 1 to {MaxSteps}");
        return steps;
    }

    private static double Guidance(string value, string where)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double scale) || !double.IsFinite(scale) || scale < 0)
            throw Invalid(where, "--l", value, "must be a guidance scale of 0 or more");
        return scale;
    }

    private static KohyaException Invalid(string where, string option, string value, string rule) =>
        new("SamplePromptInvalid", KohyaErrorKind.InvalidArgument, $"Sample prompt {where}: {option} '{value}' {rule}.", target: where)
        {
            RecommendedAction = "Correct the line: options follow the prompt as ' --w 512 --h 512 --d 42 --s 30 --l 7.5 --n negative text'.",
        };
}
