using System.Runtime.InteropServices;

namespace KohyaPS.Engine.Native;

/// <summary>The native runtime could not be loaded; the message says what is missing.</summary>
public sealed class NativeRuntimeException : KohyaException
{
    public NativeRuntimeException(string errorId, string message, Exception? inner = null)
        : base(errorId, KohyaErrorKind.ResourceUnavailable, message, inner) { }
}

/// <summary>
/// Loads libtorch and LibTorchSharp from the engine's own folder before TorchSharp tries to, so that a
/// failure is reported once, plainly (which file, which missing version, what to do), instead of
/// TorchSharp's message about a missing package and its fallback that copies the natives elsewhere.
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _loaded;

    /// <summary>The folder holding the engine, TorchSharp and the native libraries.</summary>
    public static string EngineDirectory => Path.GetDirectoryName(typeof(TorchRuntime).Assembly.Location) ?? AppContext.BaseDirectory;

    /// <summary>Loads the native backend once per process; throws <see cref="NativeRuntimeException"/> on failure.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded)
                return;
            foreach (var name in NativeChain())
                Load(name);
            _loaded = true;
        }
    }

    private static IEnumerable<string> NativeChain()
    {
        if (OperatingSystem.IsWindows())
            return new[] { "torch_cpu.dll", "LibTorchSharp.dll" };
        if (OperatingSystem.IsMacOS())
            return new[] { "libtorch_cpu.dylib", "libLibTorchSharp.dylib" };
        return new[] { "libtorch_cpu.so", "libLibTorchSharp.so" };
    }

    private static void Load(string fileName)
    {
        string? path = Locate(fileName);
        if (path is null)
        {
            // The CUDA build ships torch_cuda instead of torch_cpu; only LibTorchSharp is mandatory.
            if (!fileName.Contains("LibTorchSharp", StringComparison.Ordinal))
                return;
            throw new NativeRuntimeException("NativeLibraryMissing",
                $"{fileName} is missing from '{EngineDirectory}'. The module folder is incomplete: rebuild it with './build.ps1 Build'.");
        }
        try
        {
            NativeLibrary.Load(path);
        }
        catch (DllNotFoundException ex)
        {
            throw new NativeRuntimeException("NativeLibraryLoadFailed", Diagnose(path, ex.Message), ex);
        }
    }

    private static string? Locate(string fileName)
    {
        var candidates = new[]
        {
            Path.Combine(EngineDirectory, fileName),
            Path.Combine(EngineDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", fileName),
        };
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>Explains a load failure; names host-missing symbol versions when that is the cause.</summary>
    internal static string Diagnose(string path, string loaderMessage)
    {
        string head = $"Could not load '{path}'.";
        if (OperatingSystem.IsLinux())
        {
            try
            {
                var missing = LibStdCxxFixup.MissingVersions(ElfVersionTables.Read(path)).Where(m => !m.IsWeak).ToList();
                if (missing.Count > 0)
                {
                    string list = string.Join(", ", missing.Select(m => $"{m.Name} ({m.File})"));
                    return $"{head} It needs {list}, which this machine's libraries do not provide. " +
                           "The KohyaPS build marks such check-only requirements weak in its own copy: rebuild with " +
                           "'./build.ps1 Build', or install a newer libstdc++. Loader said: " + loaderMessage;
                }
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                // Fall through to the loader's own words.
            }
        }
        return $"{head} Loader said: {loaderMessage}";
    }
}
