using KohyaPS.Contracts;

namespace KohyaPS.Engine.Interop;

/// <summary>Lists a checkpoint folder's files by name and size only (never opening them).</summary>
internal static class FolderListing
{
    /// <summary>The folder's files and the files of its immediate subfolders ('/'-separated relative paths, ordinal order).</summary>
    public static List<KohyaForeignFile> List(string folder, List<KohyaInteropFinding> findings)
    {
        var files = new List<KohyaForeignFile>();
        try
        {
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles())
                files.Add(new KohyaForeignFile { RelativePath = file.Name, Length = file.Length });
            foreach (var sub in new DirectoryInfo(folder).EnumerateDirectories())
            {
                try
                {
                    foreach (var file in sub.EnumerateFiles())
                        files.Add(new KohyaForeignFile { RelativePath = sub.Name + "/" + file.Name, Length = file.Length });
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    findings.Add(KohyaLoraReader.Finding(InteropErrorIds.Unreadable, KohyaFindingSeverity.Warning,
                        $"Subfolder '{sub.FullName}' could not be listed: {ex.Message}", sub.FullName));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.Unreadable, KohyaFindingSeverity.Error, $"'{folder}' could not be listed: {ex.Message}", folder));
        }
        files.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        return files;
    }

    public static DateTime LastWriteUtc(string path)
    {
        try
        {
            return Directory.GetLastWriteTimeUtc(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return default;
        }
    }
}
