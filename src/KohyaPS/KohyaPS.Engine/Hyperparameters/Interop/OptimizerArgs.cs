using System.Collections;
using System.Globalization;
using System.Text;

namespace KohyaPS.Engine.Hyperparameters.Interop;

/// <summary>
/// kohya's <c>optimizer_args</c>: <c>key=value</c> entries (sd-scripts: one argument or TOML array item each; the
/// kohya_ss GUI: one text separated by spaces), values in Python literal syntax (<c>0.01</c>, <c>True</c>,
/// <c>0.9,0.99</c> or <c>(0.9, 0.99)</c>). weight_decay, betas, eps, momentum and nesterov map; any other
/// entry is reported as not applied.
/// </summary>
internal static class OptimizerArgs
{
    public static void Map(ImportContext c, string key, object? value)
    {
        c.MarkHandled(key);
        foreach (string entry in Entries(value))
        {
            int eq = entry.IndexOf('=');
            string name = eq > 0 ? entry[..eq].Trim() : entry.Trim();
            string text = eq > 0 ? entry[(eq + 1)..].Trim() : "";
            string source = $"{key}.{name}";
            if (eq <= 0)
            {
                c.NotApplied(source, entry, "not a key=value entry");
                continue;
            }
            switch (name)
            {
                case "weight_decay":
                    c.Apply(source, "Optimizer.WeightDecay", text);
                    break;
                case "eps":
                    c.Apply(source, "Optimizer.Epsilon", text);
                    break;
                case "momentum":
                    c.Apply(source, "Optimizer.Momentum", text);
                    break;
                case "nesterov":
                    c.Apply(source, "Optimizer.Nesterov", text);
                    break;
                case "betas":
                    var betas = text.Trim('(', ')', '[', ']').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    if (betas.Length != 2)
                        throw c.Invalid(source, text, "two numbers (beta1,beta2)");
                    c.Apply(source, "Optimizer.Beta1", betas[0]);
                    c.Apply(source, "Optimizer.Beta2", betas[1]);
                    break;
                default:
                    c.NotApplied(source, text, "no KohyaPS optimizer option");
                    break;
            }
        }
        if (!c.Applied.Any(a => a.Key.StartsWith(key + ".", StringComparison.Ordinal)) && !c.Notes.Any(n => n.Key.StartsWith(key + ".", StringComparison.Ordinal)))
            c.NotApplied(key, value, "no entries", active: false);
    }

    /// <summary>The entries: list items as they are; a text split at spaces outside brackets.</summary>
    public static IEnumerable<string> Entries(object? value)
    {
        if (value is IList list)
            return list.Cast<object?>().SelectMany(item => Entries(item));
        string text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
        var entries = new List<string>();
        var current = new StringBuilder();
        int depth = 0;
        foreach (char ch in text)
        {
            if (ch is '(' or '[') depth++;
            if (ch is ')' or ']') depth = Math.Max(0, depth - 1);
            if (char.IsWhiteSpace(ch) && depth == 0)
            {
                if (current.Length > 0) entries.Add(current.ToString());
                current.Clear();
                continue;
            }
            current.Append(ch);
        }
        if (current.Length > 0) entries.Add(current.ToString());
        // "weight_decay = 0.01" written with spaces: glue "key", "=", "value" back together.
        for (int i = entries.Count - 2; i >= 0; i--)
        {
            if (entries[i + 1].StartsWith('=') || entries[i].EndsWith('='))
            {
                entries[i] += entries[i + 1];
                entries.RemoveAt(i + 1);
            }
        }
        return entries;
    }
}
