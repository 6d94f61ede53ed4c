using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using KohyaPS.Engine.Native;
using TorchSharp;

namespace KohyaPS.Tests.Foundation;

public sealed class RuntimeTests
{
    [Fact]
    public void LibTorchLoadsInAPlainDotnetHostAndComputes()
    {
        TorchRuntime.EnsureLoaded();
        using var a = torch.tensor(new float[] { 1, 2, 3 });
        using var b = a * 2;
        Assert.Equal(new float[] { 2, 4, 6 }, b.data<float>().ToArray());
        Assert.False(Directory.Exists(Path.Combine(TorchRuntime.EngineDirectory, "cpu")),
            "TorchSharp's fallback copied natives into a cpu/ folder: the regular load failed");
    }

    [Fact]
    public void EnvironmentReportsLibTorchAndThreads()
    {
        var env = EnvironmentProbe.Describe();
        Assert.StartsWith("2.10", env.LibTorchVersion);
        Assert.Equal("0.107.0", env.TorchSharpVersion);
        Assert.True(env.CpuThreads >= 1);
        Assert.True(env.TorchThreads >= 1);
        Assert.Equal("float32", env.DefaultDtype);
        Assert.True(env.TensorSelfTestPassed);
    }

    [Fact]
    public void CmdletAssemblyReferencesNoIsolatedAssembly()
    {
        string path = TestPaths.CmdletAssembly;
        using var pe = new PEReader(File.OpenRead(path));
        var md = pe.GetMetadataReader();
        var names = md.AssemblyReferences.Select(h => md.GetString(md.GetAssemblyReference(h).Name)).ToList();

        Assert.Contains("KohyaPS.Contracts", names);
        Assert.Contains("System.Management.Automation", names);
        // Only the framework, SMA, Contracts and the engine bridge: nothing the private context isolates.
        var allowed = new Func<string, bool>(n =>
            n is "KohyaPS.Contracts" or "KohyaPS.Engine" or "System.Management.Automation" or "netstandard"
            || n.StartsWith("System.", StringComparison.Ordinal) || n == "System" || n.StartsWith("Microsoft.Win32", StringComparison.Ordinal));
        Assert.All(names, n => Assert.True(allowed(n), $"KohyaPS.dll references isolated assembly {n}"));
    }
}
