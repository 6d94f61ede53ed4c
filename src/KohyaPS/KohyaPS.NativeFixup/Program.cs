using KohyaPS.Engine.Native;

// Usage: KohyaPS.NativeFixup <library.so> [...]. Exit 0 when every file loads on this host afterwards.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: KohyaPS.NativeFixup <library.so> [...]");
    return 2;
}
if (!OperatingSystem.IsLinux())
{
    Console.WriteLine("native fix-up: not Linux, nothing to do");
    return 0;
}
int status = 0;
foreach (var file in args)
{
    try
    {
        var outcome = LibStdCxxFixup.Apply(file);
        Console.WriteLine($"native fix-up: {Path.GetFileName(file)}: {outcome}");
    }
    catch (Exception ex) when (ex is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"native fix-up: {file}: {ex.Message}");
        status = 1;
    }
}
return status;
