namespace KohyaPS.Tests;

/// <summary>Where things are, found from the test binaries' location.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The cmdlet assembly as the Commands project built it.</summary>
    public static string CmdletAssembly =>
        Path.Combine(RepoRoot, "src", "KohyaPS", "KohyaPS.Commands", "bin", Configuration, "net10.0", "KohyaPS.dll");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KohyaPS.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("KohyaPS.sln not found above " + AppContext.BaseDirectory);
    }
}
