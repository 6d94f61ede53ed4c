using KohyaPS.Contracts;
using KohyaPS.Engine.Native;
using TorchSharp;

namespace KohyaPS.Engine.Checkpoints.Verification;

/// <summary>
/// Whether this machine can continue the checkpoint, and whether it can do so bit-for-bit: format version,
/// TorchSharp series, device, dtype, thread count and the KohyaPS version that wrote it.
/// </summary>
internal static class CompatibilityChecks
{
    public static void Run(CheckpointState state, KohyaHyperparameterSet? hp, KohyaEnvironmentInfo? saved, CheckList checks)
    {
        checks.Pass("Format version", $"{CheckpointState.FormatName} version {state.FormatVersion} (this KohyaPS reads 1 to {CheckpointState.CurrentFormatVersion}).");
        // Versions only: a full EnvironmentProbe.Describe() would run the tensor self-test for every checkpoint tested.
        TorchSharpCheck(saved, EnvironmentProbe.TorchSharpVersion, checks);
        KohyaVersionCheck(saved, EnvironmentProbe.KohyaPSVersion, checks);
        DeviceCheck(hp?.Resources.Device ?? state.Device, checks);
        if (!Precision.ComputeDtype.Names.Contains(state.Dtype, StringComparer.OrdinalIgnoreCase))
            checks.Fail("Dtype", "DtypeNotSupported", $"The checkpoint is {state.Dtype}; this KohyaPS trains {string.Join(", ", Precision.ComputeDtype.Names)}.");
        else
            checks.Pass("Dtype", $"{state.Dtype}.");
        ThreadCheck(state.Threads, checks);
    }

    private static void TorchSharpCheck(KohyaEnvironmentInfo? saved, string here, CheckList checks)
    {
        const string name = "TorchSharp";
        if (saved is null || saved.TorchSharpVersion.Length == 0)
            checks.Warn(name, "EnvironmentUnknown", $"The checkpoint does not say which TorchSharp wrote it; this is {here}.");
        else if (saved.TorchSharpVersion == here)
            checks.Pass(name, $"{here}, as when it was written.");
        else if (Series(saved.TorchSharpVersion) != Series(here))
            checks.Warn(name, "TorchSharpSeriesDiffers",
                $"Written by TorchSharp {saved.TorchSharpVersion}, this is {here} (another release series): the files load, but kernels may differ, so the continuation is not bit-for-bit.");
        else
            checks.Warn(name, "TorchSharpVersionDiffers",
                $"Written by TorchSharp {saved.TorchSharpVersion}, this is {here}: the continuation may not be bit-for-bit.");
    }

    private static void KohyaVersionCheck(KohyaEnvironmentInfo? saved, string here, CheckList checks)
    {
        if (saved is null || !Version.TryParse(Core(saved.KohyaPSVersion), out var then) || !Version.TryParse(Core(here), out var now))
            return;
        if (then > now)
            checks.Warn("KohyaPS version", "WrittenByNewerVersion", $"Written by KohyaPS {saved.KohyaPSVersion}, newer than this {here}.");
        else
            checks.Pass("KohyaPS version", $"Written by KohyaPS {saved.KohyaPSVersion}.");
    }

    private static void DeviceCheck(string device, CheckList checks)
    {
        if (device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !torch.cuda.is_available())
            checks.Fail("Device", "DeviceUnavailable", $"The run trains on {device}; this machine has no CUDA device (or this is the CPU build).");
        else
            checks.Pass("Device", $"{device} is available.");
    }

    private static void ThreadCheck(int threads, CheckList checks)
    {
        if (threads <= 0)
            checks.Warn("Threads", "ThreadCountUnrecorded", "The checkpoint does not record its thread count: bit-for-bit continuation needs the same count.");
        else if (threads > Environment.ProcessorCount)
            checks.Warn("Threads", "ThreadCountExceedsMachine",
                $"Trained with {threads} threads; this machine has {Environment.ProcessorCount}. Resume keeps {threads} (same arithmetic, oversubscribed, slower).");
        else
            checks.Pass("Threads", $"{threads} threads, available here.");
    }

    /// <summary>The compatibility series: major.minor while the major version is 0, else the major.</summary>
    internal static string Series(string version)
    {
        var parts = version.Split('.');
        return parts.Length >= 2 && parts[0] == "0" ? parts[0] + "." + parts[1] : parts[0];
    }

    private static string Core(string version)
    {
        int cut = version.IndexOfAny(new[] { '-', '+' });
        return cut < 0 ? version : version[..cut];
    }
}
