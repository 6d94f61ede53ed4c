using System.Collections;
using System.Globalization;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Hyperparameters;

/// <summary>
/// Converts values into an option's type (from YAML scalars, command-line text, TOML/JSON values and PowerShell
/// objects), compares them and formats them. A value that does not fit is an error naming the option.
/// </summary>
public static class HyperparameterValues
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The kind of value an option takes, in words, for messages.</summary>
    public static string Describe(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        string what = t == typeof(int) || t == typeof(long) ? "a whole number"
            : t == typeof(double) ? "a number"
            : t == typeof(bool) ? "true or false"
            : t == typeof(string[]) ? "a list of text values"
            : "text";
        return Nullable.GetUnderlyingType(type) is null ? what : what + " or empty";
    }

    /// <summary>YAML's null spellings (and the empty plain scalar).</summary>
    public static bool IsNullToken(string? text) => text is null or "" or "~" or "null" or "Null" or "NULL";

    /// <summary>Parses text (a YAML scalar, a command-line value) as <paramref name="type"/>; false when it does not fit.</summary>
    public static bool TryParse(string? text, Type type, out object? value)
    {
        value = null;
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null && IsNullToken(text?.Trim()))
            return true;
        var t = underlying ?? type;
        string s = (text ?? "").Trim();
        if (t == typeof(string))
        {
            value = text ?? "";
            return true;
        }
        if (t == typeof(string[]))
        {
            value = text is null ? Array.Empty<string>() : new[] { text };
            return true;
        }
        if (t == typeof(bool))
        {
            if (s.Equals("true", StringComparison.OrdinalIgnoreCase)) { value = true; return true; }
            if (s.Equals("false", StringComparison.OrdinalIgnoreCase)) { value = false; return true; }
            return false;
        }
        if (t == typeof(int))
        {
            if (int.TryParse(s, NumberStyles.AllowLeadingSign, Invariant, out int i)) { value = i; return true; }
            return TryWhole(s, int.MinValue, int.MaxValue, out var w) && Box(out value, (int)w);
        }
        if (t == typeof(long))
        {
            if (long.TryParse(s, NumberStyles.AllowLeadingSign, Invariant, out long l)) { value = l; return true; }
            return TryWhole(s, long.MinValue, long.MaxValue, out var w) && Box(out value, w);
        }
        if (t == typeof(double))
        {
            if (TryDouble(s, out double d)) { value = d; return true; }
            return false;
        }
        return false;
    }

    /// <summary>
    /// Converts a CLR value (a PowerShell number, a TOML integer, a JSON string) to <paramref name="type"/>:
    /// numbers widen, whole doubles fit integer options, text is parsed; false when it does not fit.
    /// </summary>
    public static bool TryConvert(object? input, Type type, out object? value)
    {
        value = null;
        var underlying = Nullable.GetUnderlyingType(type);
        var t = underlying ?? type;
        switch (input)
        {
            case null:
                if (underlying is not null) return true;
                if (t == typeof(string)) { value = ""; return true; }
                if (t == typeof(string[])) { value = Array.Empty<string>(); return true; }
                return false;
            case string s:
                return TryParse(s, type, out value);
            case char c:
                return TryParse(c.ToString(), type, out value);
        }
        if (t == typeof(string[]))
        {
            if (input is IEnumerable items)
            {
                var list = new List<string>();
                foreach (var item in items)
                {
                    if (item is null || item is IEnumerable and not string || item is IDictionary) return false;
                    list.Add(Convert.ToString(item, Invariant) ?? "");
                }
                value = list.ToArray();
                return true;
            }
            return false;
        }
        if (t == typeof(string))
        {
            if (input is IConvertible and not bool && IsNumber(input)) { value = Convert.ToString(input, Invariant); return true; }
            return false;
        }
        if (t == typeof(bool))
        {
            if (input is bool b) { value = b; return true; }
            return false;
        }
        if (!IsNumber(input))
            return false;
        if (t == typeof(double))
        {
            value = Convert.ToDouble(input, Invariant);
            return true;
        }
        double d = Convert.ToDouble(input, Invariant);
        if (t == typeof(int))
        {
            if (input is float or double or decimal ? !IsWhole(d, int.MinValue, int.MaxValue) : !InRange(input, int.MinValue, int.MaxValue)) return false;
            value = Convert.ToInt32(input, Invariant);
            return true;
        }
        if (t == typeof(long))
        {
            if (input is float or double or decimal ? !IsWhole(d, long.MinValue, long.MaxValue) : !InRange(input, long.MinValue, long.MaxValue)) return false;
            value = Convert.ToInt64(input, Invariant);
            return true;
        }
        return false;
    }

    /// <summary>Converts and sets, or throws <c>HyperparameterInvalidValue</c> naming the option and where it came from.</summary>
    public static void Apply(KohyaHyperparameterSet set, HyperparameterOption option, object? input, string? where = null)
    {
        if (!TryConvert(input, option.ValueType, out var value))
            throw InvalidValue(option, input, where);
        option.Set(set, value);
    }

    public static KohyaException InvalidValue(HyperparameterOption option, object? input, string? where)
    {
        string prefix = where is null ? "" : where + ": ";
        return new KohyaException("HyperparameterInvalidValue", KohyaErrorKind.InvalidData,
            $"{prefix}{option.Path} must be {Describe(option.ValueType)}; got {Quote(input)}.", target: option.Path);
    }

    /// <summary>Equal as settings: exact numbers, case-insensitive names where the option says so, element-wise lists.</summary>
    public static bool AreEqual(HyperparameterOption option, object? a, object? b)
    {
        if (a is string[] la || b is string[])
        {
            var left = (a as string[]) ?? Array.Empty<string>();
            var right = (b as string[]) ?? Array.Empty<string>();
            return left.SequenceEqual(right, option.CaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        }
        if (a is string sa && b is string sb)
            return string.Equals(sa, sb, option.CaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
        if (a is double da && b is double db)
            return da.Equals(db); // NaN equals NaN here: the same setting
        return Equals(a, b);
    }

    /// <summary>A value as the lineage and messages show it.</summary>
    public static string Format(object? value) => KohyaHyperparameterDifference.Format(value);

    private static string Quote(object? input) => input switch
    {
        null => "nothing",
        string s => $"'{s}'",
        _ => $"{Format(input)} ({input.GetType().Name})",
    };

    private static bool TryDouble(string s, out double d)
    {
        switch (s)
        {
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF": d = double.PositiveInfinity; return true;
            case "-.inf" or "-.Inf" or "-.INF": d = double.NegativeInfinity; return true;
            case ".nan" or ".NaN" or ".NAN": d = double.NaN; return true;
        }
        return double.TryParse(s, NumberStyles.Float, Invariant, out d) && !s.Contains(',');
    }

    /// <summary>Text such as 1e3 or 100.0 that denotes a whole number.</summary>
    private static bool TryWhole(string s, double min, double max, out long whole)
    {
        whole = 0;
        if (!TryDouble(s, out double d) || !IsWhole(d, min, max))
            return false;
        whole = (long)d;
        return true;
    }

    private static bool IsWhole(double d, double min, double max) => double.IsFinite(d) && Math.Floor(d) == d && d >= min && d <= max;

    private static bool InRange(object input, long min, long max) => input switch
    {
        ulong u => u <= (ulong)max,
        _ => Convert.ToDecimal(input, Invariant) is var m && m >= min && m <= max,
    };

    private static bool IsNumber(object input) =>
        input is byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal;

    private static bool Box(out object? value, object boxed)
    {
        value = boxed;
        return true;
    }
}
