namespace KohyaPS.Engine.Native;

/// <summary>What <see cref="LibStdCxxFixup.Apply"/> did to a file.</summary>
public enum FixupOutcome
{
    /// <summary>Every version the file needs is provided by the host; the file was left alone.</summary>
    NotNeeded,
    /// <summary>The missing versions were already marked weak by an earlier run.</summary>
    AlreadyApplied,
    /// <summary>The missing versions were marked weak now.</summary>
    Applied,
}

/// <summary>
/// Repairs a shared object built against a newer libstdc++ than the host has, when — and only when —
/// every missing version is a pure check: no relocation resolves any symbol bound to it (GCC 13's
/// <c>std::ios_base_library_init()</c> reference is such a case). The fix sets VER_FLG_WEAK on those
/// version-need entries, which glibc's loader then tolerates. The file is rewritten through a temporary
/// copy and a rename, so a hard-linked or shared original (a NuGet cache) is never modified.
/// </summary>
public static class LibStdCxxFixup
{
    private static readonly string[] LibraryDirectories =
    {
        "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib",
        "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
    };

    /// <summary>Finds the host's copy of a library by soname in the standard directories.</summary>
    public static string? FindHostLibrary(string soname) =>
        LibraryDirectories.Select(d => Path.Combine(d, soname)).FirstOrDefault(File.Exists);

    /// <summary>
    /// The versions <paramref name="tables"/> needs that the host's libraries do not define, ignoring
    /// dependencies the host does not have as files (those are the package's own, like libtorch.so).
    /// </summary>
    public static IReadOnlyList<ElfVersionNeed> MissingVersions(ElfVersionTables tables, Func<string, string?>? locate = null)
    {
        locate ??= FindHostLibrary;
        var missing = new List<ElfVersionNeed>();
        foreach (var group in tables.Needs.GroupBy(n => n.File))
        {
            string? host = locate(group.Key);
            if (host is null)
                continue;
            var provided = ElfVersionTables.Read(host).Definitions.ToHashSet(StringComparer.Ordinal);
            missing.AddRange(group.Where(n => !provided.Contains(n.Name)));
        }
        return missing;
    }

    /// <summary>Marks the versions missing on this host weak in <paramref name="path"/> when that is safe.</summary>
    /// <exception cref="InvalidOperationException">A missing version binds a symbol the loader must resolve.</exception>
    public static FixupOutcome Apply(string path, Func<string, string?>? locate = null)
    {
        var tables = ElfVersionTables.Read(path);
        var missing = MissingVersions(tables, locate);
        if (missing.Count == 0)
            return FixupOutcome.NotNeeded;
        var pending = missing.Where(m => !m.IsWeak).ToList();
        if (pending.Count == 0)
            return FixupOutcome.AlreadyApplied;

        foreach (var need in pending)
        {
            var resolved = tables.RelocatedSymbolsBoundTo(need.Index);
            if (resolved.Count > 0)
                throw new InvalidOperationException(
                    $"'{Path.GetFileName(path)}' needs {need.Name} from {need.File}, which this machine lacks, and really uses " +
                    $"{string.Join(", ", resolved)} from it; install a libstdc++ that provides {need.Name}.");
        }

        byte[] image = File.ReadAllBytes(path);
        foreach (var need in pending)
            image[need.FlagsOffset] |= (byte)ElfVersionTables.VerFlagWeak;

        string temp = path + ".fixup.tmp";
        File.WriteAllBytes(temp, image);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
        File.Move(temp, path, overwrite: true);
        return FixupOutcome.Applied;
    }
}
