using System.Runtime.Versioning;
using System.Text;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Unattended;

/// <summary>
/// Registers, lists and deletes the Windows scheduled tasks of scheduled resumes (folder \KohyaPS\) through
/// schtasks.exe: the task XML is written to a UTF-16 file and registered with /Create /XML, so what
/// -WhatIf shows is exactly what Task Scheduler receives.
/// </summary>
[SupportedOSPlatform("windows")]
public static class ScheduledTaskRegistrar
{
    private const string Tool = "schtasks.exe";

    public static KohyaTrainingTaskInfo Register(TrainingTaskDefinition task, bool force)
    {
        string xml = TaskXml.Build(task);
        string path = TaskXml.TaskPath(task.Name);
        if (!force && Run("/Query", "/TN", path).Succeeded)
            throw new KohyaException("TaskExists", KohyaErrorKind.InvalidOperation,
                $"A training task named '{path}' is already registered.", target: task.Name)
            {
                RecommendedAction = "Use -Force to replace it, another -Name, or Unregister-KohyaTrainingTask first.",
            };
        string file = Path.Combine(Path.GetTempPath(), $"kohyaps-task-{Guid.NewGuid():N}.xml");
        try
        {
            File.WriteAllText(file, xml, Encoding.Unicode);
            var args = new List<string> { "/Create", "/TN", path, "/XML", file };
            if (force)
                args.Add("/F");
            var created = Run(args.ToArray());
            if (!created.Succeeded)
                throw new KohyaException("TaskRegistrationFailed", KohyaErrorKind.PermissionDenied,
                    $"Task Scheduler refused '{path}': {created.Message}", target: path)
                {
                    RecommendedAction = "Tasks that run whether or not you are logged on (AtStartup, Daily, Once) or as SYSTEM need an elevated pwsh (Run as administrator).",
                };
        }
        finally
        {
            File.Delete(file);
        }
        return List(task.Name).FirstOrDefault() ?? throw new InvalidOperationException($"'{path}' was registered but does not read back.");
    }

    /// <summary>The tasks in \KohyaPS\ (all, or the one named) that were written by Register-KohyaTrainingTask.</summary>
    public static IEnumerable<KohyaTrainingTaskInfo> List(string? name = null)
    {
        var listed = Run("/Query", "/TN", name is null ? TaskXml.TaskFolder : TaskXml.TaskPath(name), "/FO", "CSV", "/NH");
        if (!listed.Succeeded)
            yield break; // no such folder or task
        foreach (string line in listed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = CsvFields(line);
            if (fields.Count < 3 || !fields[0].StartsWith(TaskXml.TaskFolder, StringComparison.OrdinalIgnoreCase))
                continue;
            var xml = Run("/Query", "/TN", fields[0], "/XML");
            if (xml.Succeeded && TaskXml.Read(fields[0][TaskXml.TaskFolder.Length..], xml.Output, fields[2]) is { } info)
                yield return info;
        }
    }

    public static void Unregister(KohyaTrainingTaskInfo task)
    {
        var deleted = Run("/Delete", "/TN", task.Location, "/F");
        if (!deleted.Succeeded)
            throw new KohyaException("TaskUnregistrationFailed", KohyaErrorKind.PermissionDenied,
                $"Task Scheduler did not delete '{task.Location}': {deleted.Message}", target: task.Location);
    }

    private static ToolResult Run(params string[] args) =>
        SchedulerProcess.Run(Tool, args) ?? throw new KohyaException("SchedulerUnavailable", KohyaErrorKind.ResourceUnavailable,
            "schtasks.exe was not found; the Task Scheduler service is needed to register training tasks.", target: Tool);

    /// <summary>The fields of one CSV line as schtasks writes it (every field double-quoted).</summary>
    private static List<string> CsvFields(string line)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"' && quoted && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { fields.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        fields.Add(current.ToString());
        return fields;
    }
}
