using System.Text;

namespace KohyaPS.Engine.Unattended;

/// <summary>
/// The PowerShell a scheduled resume runs, and the quoting each layer needs: PowerShell single-quoted
/// strings inside the command, Windows argv rules (CommandLineToArgvW) for the task's Arguments, and
/// systemd's ExecStart rules for the unit.
/// </summary>
public static class ResumeCommand
{
    /// <summary>
    /// <c>Import-Module '&lt;manifest&gt;' -ErrorAction Stop; Resume-KohyaTraining -Path '&lt;run&gt;' -Latest; exit $LASTEXITCODE</c>:
    /// pwsh -Command alone exits 0 or 1 (from $?); Resume-KohyaTraining sets $LASTEXITCODE to its documented
    /// code and the final <c>exit</c> hands it to the scheduler. A module that fails to import ends it with 1.
    /// </summary>
    public static string Build(string moduleManifest, string runPath) =>
        $"Import-Module {PowerShellLiteral(moduleManifest)} -ErrorAction Stop; Resume-KohyaTraining -Path {PowerShellLiteral(runPath)} -Latest; exit $LASTEXITCODE";

    /// <summary>A PowerShell single-quoted string: nothing inside is expanded; each quote (', and the typographic ones PowerShell also accepts) is doubled.</summary>
    public static string PowerShellLiteral(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (char c in value)
        {
            sb.Append(c);
            if (c is '\'' or '\u2018' or '\u2019' or '\u201A' or '\u201B')
                sb.Append(c);
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>One argument quoted for a Windows command line, so CommandLineToArgvW (and .NET) read back exactly <paramref name="arg"/>.</summary>
    public static string WindowsArgument(string arg)
    {
        if (arg.Length > 0 && arg.IndexOfAny(new[] { ' ', '\t', '\n', '\v', '"' }) < 0)
            return arg;
        var sb = new StringBuilder("\"");
        int backslashes = 0;
        foreach (char c in arg)
        {
            if (c == '\\')
            {
                backslashes++;
                continue;
            }
            if (c == '"')
            {
                sb.Append('\\', backslashes * 2 + 1).Append('"');
            }
            else
            {
                sb.Append('\\', backslashes).Append(c);
            }
            backslashes = 0;
        }
        return sb.Append('\\', backslashes * 2).Append('"').ToString();
    }

    /// <summary>A Windows command line (the task's Arguments) from arguments.</summary>
    public static string WindowsCommandLine(IEnumerable<string> args) => string.Join(' ', args.Select(WindowsArgument));

    /// <summary>
    /// One word for a systemd ExecStart line: double-quoted with C escapes for \ and ", and $ and % doubled
    /// (systemd expands $VAR and %-specifiers inside command lines).
    /// </summary>
    public static string SystemdWord(string word)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in word)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '$': sb.Append("$$"); break;
                case '%': sb.Append("%%"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A value for a systemd setting that is not a command line (paths, descriptions): % doubled.</summary>
    public static string SystemdValue(string value) => value.Replace("%", "%%", StringComparison.Ordinal);
}
