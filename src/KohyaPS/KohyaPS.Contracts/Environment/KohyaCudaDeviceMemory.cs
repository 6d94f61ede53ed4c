namespace KohyaPS.Contracts;

/// <summary>Memory of one NVIDIA GPU as the driver (NVML) reports it.</summary>
public sealed class KohyaCudaDeviceMemory
{
    /// <summary>NVML device index (PCI bus order; equals cuda:N on one-GPU machines or with CUDA_DEVICE_ORDER=PCI_BUS_ID).</summary>
    public int Index { get; init; }

    public string Name { get; init; } = "";

    public long TotalBytes { get; init; }

    /// <summary>Free at the moment of the query (other processes' use included).</summary>
    public long FreeBytes { get; init; }
}
