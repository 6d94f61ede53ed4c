using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace KohyaPS.Commands.Loading;

/// <summary>
/// Runs when PowerShell imports the module: answers the default context's request for the engine
/// assembly with the copy in the private <see cref="EngineLoadContext"/>. Hooked once per process and
/// never unhooked: other runspaces may still need it after this one removes the module.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    private const string EngineAssemblyName = "KohyaPS.Engine";
    private static readonly object Gate = new();
    private static EngineLoadContext? _context;

    public void OnImport()
    {
        lock (Gate)
        {
            if (_context is not null)
                return;
            string moduleDirectory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!;
            _context = new EngineLoadContext(Path.Combine(moduleDirectory, "dependencies"));
            AssemblyLoadContext.Default.Resolving += ResolveEngine;
        }
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        if (name.Name != EngineAssemblyName || _context is null)
            return null;
        return _context.LoadFromAssemblyName(name);
    }
}
