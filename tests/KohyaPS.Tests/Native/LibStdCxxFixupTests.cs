using System.Security.Cryptography;
using KohyaPS.Engine.Native;

namespace KohyaPS.Tests.Native;

public sealed class LibStdCxxFixupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kohya-fixup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The pristine LibTorchSharp shipped in the NuGet cache (never modified by the tests).</summary>
    private static string PackageCopy()
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                      ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"expected the TorchSharp package at {path}");
        return path;
    }

    private string FreshCopy()
    {
        string target = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(PackageCopy(), target, overwrite: true);
        return target;
    }

    [Fact]
    public void ReadsTheVersionNeedsOfTheShippedLibrary()
    {
        if (!OperatingSystem.IsLinux()) return;
        var tables = ElfVersionTables.Read(PackageCopy());
        var need = Assert.Single(tables.Needs, n => n.Name == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.False(need.IsWeak);
        Assert.Contains("_ZSt21ios_base_library_initv", tables.SymbolsBoundTo(need.Index));
        Assert.Empty(tables.RelocatedSymbolsBoundTo(need.Index));
        Assert.Contains(tables.Needs, n => n.Name == "GLIBC_2.2.5" && n.File == "libc.so.6");
    }

    [Fact]
    public void MarksOnlyTheHostMissingVersionsWeakAndIsIdempotent()
    {
        if (!OperatingSystem.IsLinux()) return;
        string original = PackageCopy();
        byte[] originalHash = SHA256.HashData(File.ReadAllBytes(original));
        string copy = FreshCopy();
        var missing = LibStdCxxFixup.MissingVersions(ElfVersionTables.Read(copy));

        var first = LibStdCxxFixup.Apply(copy);
        if (missing.Count == 0)
        {
            Assert.Equal(FixupOutcome.NotNeeded, first);
            return;
        }
        Assert.Equal(FixupOutcome.Applied, first);
        var after = ElfVersionTables.Read(copy);
        foreach (var need in after.Needs)
            Assert.Equal(missing.Any(m => m.Name == need.Name && m.File == need.File), need.IsWeak);
        Assert.Equal(FixupOutcome.AlreadyApplied, LibStdCxxFixup.Apply(copy));
        Assert.Equal(originalHash, SHA256.HashData(File.ReadAllBytes(original)));

        // Exactly the flag bytes changed.
        byte[] a = File.ReadAllBytes(original), b = File.ReadAllBytes(copy);
        Assert.Equal(a.Length, b.Length);
        Assert.Equal(missing.Count, Enumerable.Range(0, a.Length).Count(i => a[i] != b[i]));
    }

    [Fact]
    public void ReportsNotNeededWhenTheHostProvidesEveryVersion()
    {
        if (!OperatingSystem.IsLinux()) return;
        string copy = FreshCopy();
        // A host with no libraries at all cannot be missing a version.
        Assert.Equal(FixupOutcome.NotNeeded, LibStdCxxFixup.Apply(copy, _ => null));
        Assert.Equal(File.ReadAllBytes(PackageCopy()), File.ReadAllBytes(copy));
    }

    [Fact]
    public void RefusesWhenAMissingVersionBindsARelocatedSymbol()
    {
        if (!OperatingSystem.IsLinux()) return;
        string copy = FreshCopy();
        string libm = LibStdCxxFixup.FindHostLibrary("libm.so.6")!;
        // Pretend the host's libstdc++ defines no GLIBCXX version: real symbols would then be unresolvable.
        var ex = Assert.Throws<InvalidOperationException>(() =>
            LibStdCxxFixup.Apply(copy, soname => soname == "libstdc++.so.6" ? libm : LibStdCxxFixup.FindHostLibrary(soname)));
        Assert.Contains("GLIBCXX_", ex.Message);
        Assert.Equal(File.ReadAllBytes(PackageCopy()), File.ReadAllBytes(copy));
    }

    [Fact]
    public void RejectsAFileThatIsNotElf()
    {
        string path = Path.Combine(_dir, "not-elf.so");
        File.WriteAllText(path, "this is text, not a shared object");
        Assert.Throws<InvalidDataException>(() => ElfVersionTables.Read(path));
    }

    [Fact]
    public void DiagnosisNamesTheMissingVersion()
    {
        if (!OperatingSystem.IsLinux()) return;
        string copy = FreshCopy();
        if (LibStdCxxFixup.MissingVersions(ElfVersionTables.Read(copy)).Count == 0) return;
        string message = TorchRuntime.Diagnose(copy, "version `GLIBCXX_3.4.32' not found");
        Assert.Contains("GLIBCXX_3.4.32 (libstdc++.so.6)", message);
        Assert.Contains("build.ps1 Build", message);
    }
}
