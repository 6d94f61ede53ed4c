namespace KohyaPS.Contracts;

/// <summary>What this machine offers a training run: versions, threads and devices.</summary>
public sealed class KohyaEnvironmentInfo
{
    public string KohyaPSVersion { get; init; } = "";
    public string TorchSharpVersion { get; init; } = "";
    public string LibTorchVersion { get; init; } = "";
    public string DotNetVersion { get; init; } = "";
    public string OperatingSystem { get; init; } = "";
    public string ProcessArchitecture { get; init; } = "";
    public int CpuThreads { get; init; }
    public int TorchThreads { get; init; }
    public bool CudaAvailable { get; init; }
    public IReadOnlyList<string> CudaDevices { get; init; } = Array.Empty<string>();
    /// <summary>Total and free memory per NVIDIA GPU; null when CUDA is not available (or the driver cannot be asked).</summary>
    public IReadOnlyList<KohyaCudaDeviceMemory>? CudaMemory { get; init; }

    public string DefaultDevice { get; init; } = "cpu";
    public string DefaultDtype { get; init; } = "float32";
    public string Backend { get; init; } = "Cpu";
    public string EnginePath { get; init; } = "";

    /// <summary>Whether a small matrix product computed by libtorch gave the right answer.</summary>
    public bool TensorSelfTestPassed { get; init; }
}
