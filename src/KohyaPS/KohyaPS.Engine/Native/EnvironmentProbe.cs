using System.Reflection;
using System.Runtime.InteropServices;
using KohyaPS.Contracts;
using TorchSharp;

namespace KohyaPS.Engine.Native;

/// <summary>Describes the machine and the loaded native backend.</summary>
public static class EnvironmentProbe
{
    /// <summary>The libtorch version this build ships; TorchSharp reports only its own version.</summary>
    public const string LibTorchVersion = "2.10.0";

    /// <summary>This engine's version (no native work).</summary>
    public static string KohyaPSVersion => InformationalVersion(typeof(EnvironmentProbe).Assembly);

    /// <summary>The loaded TorchSharp's version (no native work).</summary>
    public static string TorchSharpVersion => typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    public static KohyaEnvironmentInfo Describe()
    {
        TorchRuntime.EnsureLoaded();
        bool cuda = torch.cuda.is_available();
        var devices = cuda
            ? Enumerable.Range(0, torch.cuda.device_count()).Select(i => $"cuda:{i}").ToList()
            : new List<string>();
        return new KohyaEnvironmentInfo
        {
            KohyaPSVersion = KohyaPSVersion,
            TorchSharpVersion = TorchSharpVersion,
            LibTorchVersion = LibTorchVersion,
            DotNetVersion = Environment.Version.ToString(),
            OperatingSystem = RuntimeInformation.OSDescription,
            ProcessArchitecture = RuntimeInformation.ProcessArchitecture.ToString(),
            CpuThreads = Environment.ProcessorCount,
            TorchThreads = torch.get_num_threads(),
            CudaAvailable = cuda,
            CudaDevices = devices,
            CudaMemory = cuda ? CudaMemoryProbe.Query() : null,
            DefaultDevice = cuda ? "cuda:0" : "cpu",
            DefaultDtype = torch.get_default_dtype().ToString().ToLowerInvariant(),
            Backend = cuda ? "Cuda" : "Cpu",
            EnginePath = TorchRuntime.EngineDirectory,
            TensorSelfTestPassed = SelfTest(),
        };
    }

    /// <summary>[[1,2],[3,4]] @ [[1,0],[0,1]] summed is 10: proves the native kernels run.</summary>
    private static bool SelfTest()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        var product = torch.matmul(a, torch.eye(2));
        return product.sum().item<float>() == 10f;
    }

    internal static string InformationalVersion(Assembly assembly)
    {
        string v = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                   ?? assembly.GetName().Version?.ToString() ?? "0.0.0";
        int plus = v.IndexOf('+');
        return plus < 0 ? v : v[..plus];
    }
}
