using System.Buffers.Binary;
using System.Text;

namespace KohyaPS.Engine.Native;

/// <summary>One version a shared object needs from one of its dependencies (an entry of .gnu.version_r).</summary>
/// <param name="File">The dependency's soname, e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Name">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="Index">The version index symbols refer to through .gnu.version.</param>
/// <param name="IsWeak">Whether VER_FLG_WEAK is set: the loader tolerates its absence.</param>
/// <param name="FlagsOffset">File offset of the entry's vna_flags field.</param>
public sealed record ElfVersionNeed(string File, string Name, int Index, bool IsWeak, long FlagsOffset);

/// <summary>
/// Reads the symbol-versioning tables of a 64-bit little-endian ELF shared object: the versions it
/// needs (.gnu.version_r), the versions it defines (.gnu.version_d) and which dynamic symbols are
/// bound to which version (.gnu.version + .dynsym). Enough to explain and repair a
/// "version `GLIBCXX_3.4.32' not found" load failure; nothing else of ELF is interpreted.
/// </summary>
public sealed class ElfVersionTables
{
    private const uint ShtRela = 4;
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    internal const ushort VerFlagWeak = 0x2;

    private readonly byte[] _image;
    private readonly List<ElfVersionNeed> _needs = new();
    private readonly List<string> _definitions = new();
    private readonly Dictionary<int, List<(int Index, string Name)>> _symbolsByVersion = new();
    private readonly HashSet<int> _relocatedSymbols = new();

    private ElfVersionTables(byte[] image, string path)
    {
        _image = image;
        Parse(path);
    }

    public IReadOnlyList<ElfVersionNeed> Needs => _needs;

    public IReadOnlyList<string> Definitions => _definitions;

    /// <summary>Names of dynamic symbols whose version index is <paramref name="versionIndex"/>.</summary>
    public IReadOnlyList<string> SymbolsBoundTo(int versionIndex) =>
        _symbolsByVersion.TryGetValue(versionIndex, out var list) ? list.Select(s => s.Name).ToList() : Array.Empty<string>();

    /// <summary>
    /// Names of symbols bound to <paramref name="versionIndex"/> that some relocation refers to, i.e. that
    /// the loader must actually resolve. A version none of whose symbols is relocated is only a check.
    /// </summary>
    public IReadOnlyList<string> RelocatedSymbolsBoundTo(int versionIndex) =>
        _symbolsByVersion.TryGetValue(versionIndex, out var list)
            ? list.Where(s => _relocatedSymbols.Contains(s.Index)).Select(s => s.Name).ToList()
            : Array.Empty<string>();

    public static ElfVersionTables Read(string path) => new(File.ReadAllBytes(path), path);

    private void Parse(string path)
    {
        var d = _image.AsSpan();
        if (d.Length < 64 || d[0] != 0x7f || d[1] != (byte)'E' || d[2] != (byte)'L' || d[3] != (byte)'F')
            throw new InvalidDataException($"'{path}' is not an ELF file.");
        if (d[4] != 2 || d[5] != 1)
            throw new InvalidDataException($"'{path}' is not a 64-bit little-endian ELF file.");

        long shoff = (long)U64(0x28);
        int shentsize = U16(0x3A);
        int shnum = U16(0x3C);
        if (shentsize < 64 || shoff <= 0 || shoff + (long)shentsize * shnum > d.Length)
            throw new InvalidDataException($"'{path}' has a malformed section header table.");

        var sections = new (uint Type, long Offset, long Size, uint Link, uint Info)[shnum];
        for (int i = 0; i < shnum; i++)
        {
            long b = shoff + (long)i * shentsize;
            sections[i] = (U32(b + 4), (long)U64(b + 0x18), (long)U64(b + 0x20), U32(b + 0x28), U32(b + 0x2C));
        }

        foreach (var s in sections)
        {
            if (s.Type == ShtGnuVerneed)
                ReadNeeds(s.Offset, (int)s.Info, sections[s.Link].Offset);
            else if (s.Type == ShtGnuVerdef)
                ReadDefinitions(s.Offset, (int)s.Info, sections[s.Link].Offset);
        }

        int dynsym = Array.FindIndex(sections, s => s.Type == ShtDynsym);
        int versym = Array.FindIndex(sections, s => s.Type == ShtGnuVersym);
        if (dynsym >= 0 && versym >= 0)
        {
            var sym = sections[dynsym];
            long strtab = sections[sym.Link].Offset;
            long count = sym.Size / 24;
            for (long i = 0; i < count; i++)
            {
                int version = U16(sections[versym].Offset + 2 * i) & 0x7fff;
                string name = CString(strtab + U32(sym.Offset + 24 * i));
                if (!_symbolsByVersion.TryGetValue(version, out var list))
                    _symbolsByVersion[version] = list = new List<(int, string)>();
                list.Add(((int)i, name));
            }
        }

        foreach (var s in sections.Where(s => s.Type == ShtRela))
        {
            for (long at = s.Offset; at + 24 <= s.Offset + s.Size; at += 24)
                _relocatedSymbols.Add((int)(U64(at + 8) >> 32));
        }
    }

    private void ReadNeeds(long offset, int count, long strtab)
    {
        long entry = offset;
        for (int i = 0; i < count; i++)
        {
            int auxCount = U16(entry + 2);
            string file = CString(strtab + U32(entry + 4));
            long aux = entry + U32(entry + 8);
            for (int j = 0; j < auxCount; j++)
            {
                ushort flags = U16(aux + 4);
                int index = U16(aux + 6);
                string name = CString(strtab + U32(aux + 8));
                _needs.Add(new ElfVersionNeed(file, name, index, (flags & VerFlagWeak) != 0, aux + 4));
                aux += U32(aux + 12);
            }
            entry += U32(entry + 12);
        }
    }

    private void ReadDefinitions(long offset, int count, long strtab)
    {
        long entry = offset;
        for (int i = 0; i < count; i++)
        {
            long aux = entry + U32(entry + 12);
            _definitions.Add(CString(strtab + U32(aux)));
            entry += U32(entry + 16);
        }
    }

    private ushort U16(long at) => BinaryPrimitives.ReadUInt16LittleEndian(Slice(at, 2));
    private uint U32(long at) => BinaryPrimitives.ReadUInt32LittleEndian(Slice(at, 4));
    private ulong U64(long at) => BinaryPrimitives.ReadUInt64LittleEndian(Slice(at, 8));

    private ReadOnlySpan<byte> Slice(long at, int length)
    {
        if (at < 0 || at + length > _image.Length)
            throw new InvalidDataException("ELF table points outside the file.");
        return _image.AsSpan((int)at, length);
    }

    private string CString(long at)
    {
        if (at < 0 || at >= _image.Length)
            throw new InvalidDataException("ELF string points outside the file.");
        var rest = _image.AsSpan((int)at);
        int end = rest.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
    }
}
