using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using KohyaPS.Contracts;

namespace KohyaPS.Engine.Unattended;

/// <summary>
/// The Windows Task Scheduler definition (schema version 1.2) of a scheduled resume, and reading one back.
/// Settings chosen for long GPU training: no execution time limit (the default 72 hours would end a long
/// run), normal priority (the default 7 is below normal, with low I/O priority), one instance at a time,
/// start when available after a missed time, run on battery.
/// </summary>
public static class TaskXml
{
    public const string TaskFolder = @"\KohyaPS\";
    public const string Source = "KohyaPS";
    public static readonly XNamespace Ns = "http://schemas.microsoft.com/windows/2004/02/mit/task";
    private const string SystemSid = "S-1-5-18";

    public static string TaskPath(string name) => TaskFolder + name;

    /// <summary>True for the accounts Task Scheduler runs as a service account (no logon session needed).</summary>
    public static bool IsSystemAccount(string user) =>
        user.Equals("SYSTEM", StringComparison.OrdinalIgnoreCase)
        || user.Equals(@"NT AUTHORITY\SYSTEM", StringComparison.OrdinalIgnoreCase)
        || user.Equals(SystemSid, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The logon type: the service account for SYSTEM; the user's interactive session for AtLogOn; otherwise
    /// S4U — runs whether or not the user is logged on, with no stored password (and so no access to network
    /// shares: keep the run on a local disk, or register as a user with a password in Task Scheduler).
    /// </summary>
    public static string LogonType(TrainingTaskDefinition task) =>
        IsSystemAccount(task.User) ? "ServiceAccount"
        : task.Trigger == KohyaTrainingTaskTrigger.AtLogOn ? "InteractiveToken"
        : "S4U";

    public static string Build(TrainingTaskDefinition task)
    {
        task.Validate();
        var t = Ns;
        string userId = IsSystemAccount(task.User) ? SystemSid : task.User;
        var settings = new XElement(t + "Settings",
            new XElement(t + "MultipleInstancesPolicy", "IgnoreNew"),
            new XElement(t + "DisallowStartIfOnBatteries", "false"),
            new XElement(t + "StopIfGoingOnBatteries", "false"),
            new XElement(t + "AllowHardTerminate", "true"),
            new XElement(t + "StartWhenAvailable", "true"),
            new XElement(t + "RunOnlyIfNetworkAvailable", "false"),
            new XElement(t + "IdleSettings",
                new XElement(t + "StopOnIdleEnd", "false"),
                new XElement(t + "RestartOnIdle", "false")),
            new XElement(t + "AllowStartOnDemand", "true"),
            new XElement(t + "Enabled", "true"),
            new XElement(t + "Hidden", "false"),
            new XElement(t + "RunOnlyIfIdle", "false"),
            new XElement(t + "WakeToRun", "false"),
            new XElement(t + "ExecutionTimeLimit", "PT0S"),
            new XElement(t + "Priority", "5"));
        if (task.RestartOnFailure)
            settings.Add(new XElement(t + "RestartOnFailure",
                new XElement(t + "Interval", XmlConvert.ToString(TrainingTaskDefinition.RestartInterval)),
                new XElement(t + "Count", TrainingTaskDefinition.RestartCount.ToString(CultureInfo.InvariantCulture))));

        var doc = new XDocument(
            new XDeclaration("1.0", "UTF-16", null),
            new XElement(t + "Task", new XAttribute("version", "1.2"),
                new XElement(t + "RegistrationInfo",
                    new XElement(t + "Source", Source),
                    new XElement(t + "Author", task.User),
                    new XElement(t + "Description", $"Resumes the KohyaPS training run '{task.RunPath}' from its newest verified checkpoint (Register-KohyaTrainingTask). Exit codes: see Get-Help about_KohyaPS."),
                    new XElement(t + "URI", TaskPath(task.Name))),
                new XElement(t + "Triggers", Trigger(task, userId)),
                new XElement(t + "Principals",
                    new XElement(t + "Principal", new XAttribute("id", "Author"),
                        new XElement(t + "UserId", userId),
                        new XElement(t + "LogonType", LogonType(task)),
                        new XElement(t + "RunLevel", "LeastPrivilege"))),
                settings,
                new XElement(t + "Actions", new XAttribute("Context", "Author"),
                    new XElement(t + "Exec",
                        new XElement(t + "Command", task.Launcher.Executable),
                        new XElement(t + "Arguments", ResumeCommand.WindowsCommandLine(task.Arguments)),
                        new XElement(t + "WorkingDirectory", task.RunPath)))));
        var text = new StringBuilder();
        using (var writer = XmlWriter.Create(new StringWriterWithEncoding(text, Encoding.Unicode), new XmlWriterSettings { Indent = true, IndentChars = "  " }))
            doc.Save(writer);
        return text.ToString();
    }

    private static XElement Trigger(TrainingTaskDefinition task, string userId)
    {
        var t = Ns;
        string Boundary() => task.At!.Value.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        return task.Trigger switch
        {
            KohyaTrainingTaskTrigger.AtStartup => new XElement(t + "BootTrigger",
                new XElement(t + "Enabled", "true"),
                new XElement(t + "Delay", XmlConvert.ToString(TrainingTaskDefinition.BootDelay))),
            KohyaTrainingTaskTrigger.AtLogOn => new XElement(t + "LogonTrigger",
                new XElement(t + "Enabled", "true"),
                new XElement(t + "UserId", userId)),
            KohyaTrainingTaskTrigger.Daily => new XElement(t + "CalendarTrigger",
                new XElement(t + "StartBoundary", Boundary()),
                new XElement(t + "Enabled", "true"),
                new XElement(t + "ScheduleByDay", new XElement(t + "DaysInterval", "1"))),
            _ => new XElement(t + "TimeTrigger",
                new XElement(t + "StartBoundary", Boundary()),
                new XElement(t + "Enabled", "true")),
        };
    }

    /// <summary>Reads a task XML written by <see cref="Build"/> (as Task Scheduler returns it); null when it is not one of ours.</summary>
    public static KohyaTrainingTaskInfo? Read(string name, string xml, string state)
    {
        XDocument doc;
        try
        {
            doc = XDocument.Parse(xml);
        }
        catch (XmlException)
        {
            return null;
        }
        var t = Ns;
        var root = doc.Root;
        if (root is null || root.Name != t + "Task" || root.Element(t + "RegistrationInfo")?.Element(t + "Source")?.Value != Source)
            return null;
        var exec = root.Element(t + "Actions")?.Element(t + "Exec");
        var trigger = root.Element(t + "Triggers")?.Elements().FirstOrDefault();
        var (kind, at) = trigger?.Name.LocalName switch
        {
            "BootTrigger" => (KohyaTrainingTaskTrigger.AtStartup, (DateTime?)null),
            "LogonTrigger" => (KohyaTrainingTaskTrigger.AtLogOn, null),
            "CalendarTrigger" => (KohyaTrainingTaskTrigger.Daily, ParseBoundary(trigger)),
            _ => (KohyaTrainingTaskTrigger.Once, ParseBoundary(trigger)),
        };
        string arguments = exec?.Element(t + "Arguments")?.Value ?? "";
        return new KohyaTrainingTaskInfo
        {
            Name = name,
            RunPath = exec?.Element(t + "WorkingDirectory")?.Value ?? "",
            Trigger = kind,
            At = at,
            RestartOnFailure = root.Element(t + "Settings")?.Element(t + "RestartOnFailure") is not null,
            User = root.Element(t + "Principals")?.Element(t + "Principal")?.Element(t + "UserId")?.Value ?? "",
            Scheduler = "ScheduledTask",
            Location = TaskPath(name),
            Executable = exec?.Element(t + "Command")?.Value ?? "",
            Arguments = SplitWindowsCommandLine(arguments),
            Definition = xml,
            State = state,
        };
    }

    private static DateTime? ParseBoundary(XElement? trigger) =>
        DateTime.TryParse(trigger?.Element(Ns + "StartBoundary")?.Value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) ? at : null;

    /// <summary>Splits a Windows command line the way CommandLineToArgvW does (for arguments, not the program name).</summary>
    public static IReadOnlyList<string> SplitWindowsCommandLine(string commandLine)
    {
        var args = new List<string>();
        var current = new StringBuilder();
        bool inQuotes = false, any = false;
        for (int i = 0; i < commandLine.Length; i++)
        {
            char c = commandLine[i];
            if (c == '\\')
            {
                int n = 0;
                while (i < commandLine.Length && commandLine[i] == '\\') { n++; i++; }
                if (i < commandLine.Length && commandLine[i] == '"')
                {
                    current.Append('\\', n / 2);
                    if (n % 2 == 1) current.Append('"');
                    else inQuotes = !inQuotes;
                }
                else
                {
                    current.Append('\\', n);
                    i--;
                }
                any = true;
            }
            else if (c == '"')
            {
                if (inQuotes && i + 1 < commandLine.Length && commandLine[i + 1] == '"') { current.Append('"'); i++; }
                else inQuotes = !inQuotes;
                any = true;
            }
            else if ((c == ' ' || c == '\t') && !inQuotes)
            {
                if (any) { args.Add(current.ToString()); current.Clear(); any = false; }
            }
            else
            {
                current.Append(c);
                any = true;
            }
        }
        if (any) args.Add(current.ToString());
        return args;
    }

    private sealed class StringWriterWithEncoding : StringWriter
    {
        public StringWriterWithEncoding(StringBuilder sb, Encoding encoding) : base(sb, CultureInfo.InvariantCulture) => Encoding = encoding;

        public override Encoding Encoding { get; }
    }
}
