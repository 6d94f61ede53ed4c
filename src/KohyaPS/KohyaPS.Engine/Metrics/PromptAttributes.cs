namespace KohyaPS.Engine.Metrics;

/// <summary>The shape and colour a prompt asks for, in the demo dataset's vocabulary.</summary>
/// <param name="Shape">Index into the classifier's shapes, or null when the prompt names none.</param>
/// <param name="Color">Index into the classifier's colours, or null when no colour word comes before the shape word.</param>
public sealed record PromptAttributes(int? Shape, int? Color)
{
    /// <summary>
    /// Reads a prompt such as "a red circle on an orange background": the shape is the first word that is a shape
    /// name ("circle" or "circles"); the colour is the last colour word before it (so "on an orange background"
    /// is not mistaken for the shape's colour). Case-insensitive; punctuation separates words. A kohya prompt's
    /// options (" --n …") are cut off first.
    /// </summary>
    public static PromptAttributes Parse(string prompt, IReadOnlyList<string> shapes, IReadOnlyList<string> colors)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int options = prompt.IndexOf(" --", StringComparison.Ordinal);
        if (options >= 0)
            prompt = prompt[..options];
        var words = prompt.ToLowerInvariant()
            .Split(prompt.Where(c => !char.IsLetter(c)).Distinct().ToArray(), StringSplitOptions.RemoveEmptyEntries);
        int? shape = null, color = null;
        for (int i = 0; i < words.Length && shape is null; i++)
        {
            int s = IndexOf(shapes, words[i]);
            if (s < 0 && words[i].EndsWith('s'))
                s = IndexOf(shapes, words[i][..^1]);
            if (s >= 0)
            {
                shape = s;
                for (int j = i - 1; j >= 0 && color is null; j--)
                {
                    int c = IndexOf(colors, words[j]);
                    if (c >= 0)
                        color = c;
                }
            }
        }
        return new PromptAttributes(shape, color);
    }

    private static int IndexOf(IReadOnlyList<string> names, string word)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], word, StringComparison.Ordinal))
                return i;
        }
        return -1;
    }
}
