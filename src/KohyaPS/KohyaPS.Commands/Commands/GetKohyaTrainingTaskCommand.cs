using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Unattended;

namespace KohyaPS.Commands.Commands;

/// <summary>Lists the registered training tasks (scheduled tasks in \KohyaPS\, or kohyaps-*.service units) with their run's last outcome.</summary>
[Cmdlet(VerbsCommon.Get, "KohyaTrainingTask")]
[OutputType(typeof(KohyaTrainingTaskInfo))]
public sealed class GetKohyaTrainingTaskCommand : KohyaCmdlet
{
    /// <summary>Task names; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Only the tasks that resume this run folder.</summary>
    [Parameter]
    [Alias("RunPath")]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<KohyaTrainingTaskInfo> tasks;
        try
        {
            tasks = List();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowEngineError(ex);
            return;
        }
        string? run = Path is null ? null : System.IO.Path.TrimEndingDirectorySeparator(ResolveFileSystemPath(Path));
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var patterns = (Name ?? new[] { "*" }).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        foreach (string name in Name ?? Array.Empty<string>())
            if (!WildcardPattern.ContainsWildcardCharacters(name) && !tasks.Any(t => t.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
                WriteError(ErrorRecordFactory.Create("TaskNotFound", ErrorCategory.ObjectNotFound, $"No training task named '{name}' is registered.", name,
                    "List them with Get-KohyaTrainingTask."));
        foreach (var task in tasks)
            if (patterns.Any(p => p.IsMatch(task.Name)) && (run is null || string.Equals(System.IO.Path.TrimEndingDirectorySeparator(task.RunPath), run, comparison)))
                WriteObject(task);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<KohyaTrainingTaskInfo> List() => new TrainingTaskScheduler().List();
}
