using System.Runtime.InteropServices;
using System.Text;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Native;

/// <summary>
/// Total and free memory per NVIDIA GPU through NVML, the management library every NVIDIA driver installs
/// (<c>nvml.dll</c> on Windows, <c>libnvidia-ml.so.1</c> on Linux). NVML needs no CUDA context, so asking does not
/// reserve GPU memory. Loaded on demand; any failure (no driver, old driver, no GPU) gives null, never an error.
/// Devices are in NVML's PCI-bus order, which is cuda:N's order when CUDA_DEVICE_ORDER=PCI_BUS_ID or there is one GPU;
/// NVML does not apply CUDA_VISIBLE_DEVICES.
/// </summary>
public static class CudaMemoryProbe
{
    private const int Success = 0;

    [StructLayout(LayoutKind.Sequential)]
    private struct NvmlMemory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int InitFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CountFn(out uint count);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int HandleFn(uint index, out IntPtr device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int MemoryFn(IntPtr device, out NvmlMemory memory);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int NameFn(IntPtr device, byte[] name, uint length);

    /// <summary>Every GPU's memory, or null when NVML is not available.</summary>
    public static IReadOnlyList<KohyaCudaDeviceMemory>? Query()
    {
        string library = OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1";
        if (!NativeLibrary.TryLoad(library, out IntPtr handle))
            return null;
        try
        {
            var init = Export<InitFn>(handle, "nvmlInit_v2");
            var shutdown = Export<InitFn>(handle, "nvmlShutdown");
            var count = Export<CountFn>(handle, "nvmlDeviceGetCount_v2");
            var byIndex = Export<HandleFn>(handle, "nvmlDeviceGetHandleByIndex_v2");
            var memory = Export<MemoryFn>(handle, "nvmlDeviceGetMemoryInfo");
            var name = Export<NameFn>(handle, "nvmlDeviceGetName");
            if (init is null || shutdown is null || count is null || byIndex is null || memory is null || name is null || init() != Success)
                return null;
            try
            {
                if (count(out uint devices) != Success)
                    return null;
                var result = new List<KohyaCudaDeviceMemory>();
                for (uint i = 0; i < devices; i++)
                {
                    if (byIndex(i, out IntPtr device) != Success || memory(device, out var info) != Success)
                        return null;
                    var buffer = new byte[96];
                    string deviceName = name(device, buffer, (uint)buffer.Length) == Success
                        ? Encoding.UTF8.GetString(buffer, 0, Math.Max(0, Array.IndexOf(buffer, (byte)0))) : "";
                    result.Add(new KohyaCudaDeviceMemory
                    {
                        Index = (int)i,
                        Name = deviceName,
                        TotalBytes = (long)info.Total,
                        FreeBytes = (long)info.Free,
                    });
                }
                return result;
            }
            finally
            {
                shutdown();
            }
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or MarshalDirectiveException or DllNotFoundException)
        {
            return null;
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }

    /// <summary>The total memory of device <paramref name="index"/>, or null when unknown.</summary>
    public static long? TotalBytes(int index) =>
        Query() is { } devices && index >= 0 && index < devices.Count ? devices[index].TotalBytes : null;

    private static T? Export<T>(IntPtr library, string name) where T : Delegate =>
        NativeLibrary.TryGetExport(library, name, out IntPtr address) ? Marshal.GetDelegateForFunctionPointer<T>(address) : null;
}
