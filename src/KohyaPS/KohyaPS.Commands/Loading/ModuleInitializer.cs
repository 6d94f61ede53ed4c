using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace KohyaPS.Commands.Loading;

/// <summary>
/// Runs when the runtime loads KohyaPS.dll — before PowerShell reflects over any cmdlet type — and answers
/// the default context's request for the engine assembly with the copy in the private
/// <see cref="EngineLoadContext"/>. Hooked once per process and never unhooked: other runspaces may still
/// need it after this one removes the module.
/// </summary>
internal static class ModuleInitializer
{
    private const string EngineAssemblyName = "KohyaPS.Engine";
    private static EngineLoadContext? _context;

#pragma warning disable CA2255 // a module initializer is exactly right for installing an assembly resolver
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install()
    {
        string moduleDirectory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!;
        _context = new EngineLoadContext(Path.Combine(moduleDirectory, "dependencies"));
        AssemblyLoadContext.Default.Resolving += ResolveEngine;
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name) =>
        name.Name == EngineAssemblyName && _context is not null ? _context.LoadFromAssemblyName(name) : null;
}
