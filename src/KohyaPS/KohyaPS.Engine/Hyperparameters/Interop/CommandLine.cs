using System.Text;

namespace KohyaPS.Engine.Hyperparameters.Interop;

/// <summary>sd-scripts' argparse command lines: splitting one string as a POSIX shell would, and reading --key value pairs.</summary>
internal static class CommandLine
{
    /// <summary>Splits at unquoted whitespace; '…' and "…" quote, a backslash escapes, and a backslash-newline continues the line.</summary>
    public static List<string> Split(string line)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        bool inToken = false;
        char quote = '\0';
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quote == '\'')
            {
                if (ch == '\'') quote = '\0'; else current.Append(ch);
                continue;
            }
            if (ch == '\\' && i + 1 < line.Length)
            {
                char next = line[++i];
                if (next is '\n' or '\r')
                {
                    if (next == '\r' && i + 1 < line.Length && line[i + 1] == '\n') i++;
                    continue;
                }
                current.Append(next);
                inToken = true;
                continue;
            }
            if (quote == '"')
            {
                if (ch == '"') quote = '\0'; else current.Append(ch);
                continue;
            }
            if (ch is '\'' or '"')
            {
                quote = ch;
                inToken = true;
                continue;
            }
            if (char.IsWhiteSpace(ch))
            {
                if (inToken) tokens.Add(current.ToString());
                current.Clear();
                inToken = false;
                continue;
            }
            current.Append(ch);
            inToken = true;
        }
        if (inToken) tokens.Add(current.ToString());
        return tokens;
    }

    /// <summary>
    /// <c>--key=value</c> and <c>--key value</c> give text, <c>--key a b</c> a list (optimizer_args), a bare
    /// <c>--flag</c> true. Words before the first flag (the launcher, the script) are returned separately.
    /// </summary>
    public static (List<KeyValuePair<string, object?>> Entries, List<string> Skipped) Parse(IReadOnlyList<string> tokens)
    {
        var entries = new List<KeyValuePair<string, object?>>();
        var skipped = new List<string>();
        string? key = null;
        var values = new List<string>();
        void Flush()
        {
            if (key is null) return;
            object? value = values.Count switch { 0 => true, 1 => values[0], _ => values.Cast<object?>().ToList() };
            entries.Add(new(key, value));
            key = null;
            values.Clear();
        }
        foreach (string token in tokens)
        {
            if (token == "\\")
                continue;
            if (token.StartsWith("--", StringComparison.Ordinal) && token.Length > 2)
            {
                Flush();
                int eq = token.IndexOf('=');
                if (eq > 2)
                {
                    entries.Add(new(token[2..eq], token[(eq + 1)..]));
                    continue;
                }
                key = token[2..];
                continue;
            }
            if (key is null)
                skipped.Add(token);
            else
                values.Add(token);
        }
        Flush();
        return (entries, skipped);
    }
}
