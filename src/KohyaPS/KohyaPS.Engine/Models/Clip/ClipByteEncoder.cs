namespace KohyaPS.Engine.Models.Clip;

/// <summary>
/// GPT-2/CLIP's reversible byte → character table (<c>bytes_to_unicode</c>): the printable Latin-1 bytes
/// '!'…'~', '¡'…'¬', '®'…'ÿ' stand for themselves; the other 68 bytes, in increasing order, become U+0100,
/// U+0101, …. Every UTF-8 byte of a word thus becomes one visible character the BPE vocabulary can name.
/// </summary>
public static class ClipByteEncoder
{
    private static readonly char[] Table = Build();

    /// <summary>The character standing for <paramref name="value"/>.</summary>
    public static char ForByte(byte value) => Table[value];

    /// <summary>The UTF-8 bytes of <paramref name="word"/>, one table character per byte.</summary>
    public static string Encode(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var bytes = System.Text.Encoding.UTF8.GetBytes(word);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
            chars[i] = Table[bytes[i]];
        return new string(chars);
    }

    private static char[] Build()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}
