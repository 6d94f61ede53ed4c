using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace KohyaPS.Commands.Loading;

/// <summary>
/// The private load context that holds the engine and its third-party dependencies (TorchSharp,
/// YamlDotNet, Tomlyn, SkiaSharp, ...) from the module's <c>dependencies</c> folder, so that other modules
/// loaded in the same session with other versions of those assemblies do not clash with ours. Contracts
/// and the framework resolve in the default context, so the pipeline sees one set of types.
/// </summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    private readonly string _directory;

    public EngineLoadContext(string directory)
        : base("KohyaPS.Engine", isCollectible: false)
    {
        _directory = directory;
    }

    public string Directory => _directory;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (assemblyName.Name is null || assemblyName.Name == "KohyaPS.Contracts")
            return null;
        string path = Path.Combine(_directory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (var candidate in NativeFileNames(unmanagedDllName))
        {
            string path = Path.Combine(_directory, candidate);
            if (File.Exists(path))
                return LoadUnmanagedDllFromPath(path);
        }
        return IntPtr.Zero;
    }

    private static IEnumerable<string> NativeFileNames(string name)
    {
        yield return name;
        if (OperatingSystem.IsWindows())
        {
            yield return name + ".dll";
            yield break;
        }
        string suffix = OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        yield return name + suffix;
        if (!name.StartsWith("lib", StringComparison.Ordinal))
        {
            yield return "lib" + name;
            yield return "lib" + name + suffix;
        }
    }
}
