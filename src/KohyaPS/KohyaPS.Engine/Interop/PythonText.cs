using System.Globalization;

namespace KohyaPS.Engine.Interop;

/// <summary>
/// Values as Python's <c>str()</c> spells them, because sd-scripts stores every metadata value as <c>str(value)</c>:
/// floats in <c>repr</c> form (<c>0.0001</c>, <c>1e-05</c>, <c>8.0</c>), booleans as <c>True</c>/<c>False</c>, missing values as <c>None</c>.
/// </summary>
public static class PythonText
{
    public const string None = "None";

    public static string Bool(bool value) => value ? "True" : "False";

    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Python's <c>repr(float)</c>: the shortest digits that round-trip, in fixed notation when the decimal exponent
    /// is in [-4, 16) (always with a fractional part, e.g. <c>8.0</c>), otherwise <c>d.ddde±XX</c> (e.g. <c>1e-05</c>).
    /// </summary>
    public static string Float(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsPositiveInfinity(value)) return "inf";
        if (double.IsNegativeInfinity(value)) return "-inf";
        string sign = double.IsNegative(value) ? "-" : "";
        if (value == 0) return sign + "0.0";

        // .NET's "R" is the shortest round-trip form too; only the layout differs from Python's.
        string r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOfAny(['E', 'e']);
        string mantissa = e < 0 ? r : r[..e];
        int exponent = e < 0 ? 0 : int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int point = mantissa.IndexOf('.');
        string digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        int integerDigits = point < 0 ? mantissa.Length : point;
        int leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.TrimStart('0').TrimEnd('0');
        // value = 0.d1d2… × 10^(integerDigits - leadingZeros + exponent) = d1.d2… × 10^x
        int x = integerDigits - leadingZeros + exponent - 1;

        if (x >= -4 && x < 16)
        {
            if (x < 0)
                return sign + "0." + new string('0', -x - 1) + digits;
            string whole = digits.Length > x + 1 ? digits[..(x + 1)] : digits.PadRight(x + 1, '0');
            string fraction = digits.Length > x + 1 ? digits[(x + 1)..] : "0";
            return sign + whole + "." + fraction;
        }
        string head = digits.Length > 1 ? digits[0] + "." + digits[1..] : digits;
        return sign + head + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
    }

    /// <summary>An optional float: <see cref="Float"/>, or <c>None</c>.</summary>
    public static string Float(double? value) => value is { } v ? Float(v) : None;

    /// <summary>Parses what Python's <c>str()</c> writes for an int or a float (including <c>inf</c>, <c>nan</c>, <c>1e-05</c>).</summary>
    public static bool TryParseFloat(string? text, out double value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        string t = text.Trim();
        switch (t.ToLowerInvariant())
        {
            case "inf" or "+inf" or "infinity": value = double.PositiveInfinity; return true;
            case "-inf" or "-infinity": value = double.NegativeInfinity; return true;
            case "nan" or "-nan" or "+nan": value = double.NaN; return true;
        }
        return double.TryParse(t, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Parses a Python <c>str(int)</c>: optional sign, decimal digits.</summary>
    public static bool TryParseInt(string? text, out long value) =>
        long.TryParse(text?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    /// <summary>True for the spellings sd-scripts leaves when a value was not set: <c>None</c> or empty.</summary>
    public static bool IsNone(string? text) => string.IsNullOrWhiteSpace(text) || text.Trim() == None;
}
