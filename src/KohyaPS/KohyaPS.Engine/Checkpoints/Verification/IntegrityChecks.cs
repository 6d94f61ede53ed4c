namespace KohyaPS.Engine.Checkpoints.Verification;

/// <summary>
/// The fast checks every resume runs: every expected file is there, and each matches <c>checksums.sha256</c>
/// (hashed in parallel, streamed). Names in the list are plain file names, so nothing outside the folder is read.
/// </summary>
internal static class IntegrityChecks
{
    public const string FilesCheck = "Files";
    public const string ExtraFilesCheck = "Extra files";
    public const string ChecksumListCheck = "Checksum list";

    public static string ChecksumCheck(string file) => "Checksum " + file;

    public static void Files(string directory, CheckList checks)
    {
        var missing = CheckpointNames.ExpectedFiles.Where(f => !File.Exists(Path.Combine(directory, f))).ToList();
        if (missing.Count > 0)
            checks.Fail(FilesCheck, "CheckpointFileMissing", $"{string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} missing.");
        else
            checks.Pass(FilesCheck, $"All {CheckpointNames.ExpectedFiles.Length} files are present.");

        var expected = new HashSet<string>(CheckpointNames.ExpectedFiles, StringComparer.Ordinal);
        var extra = new DirectoryInfo(directory).EnumerateFileSystemInfos()
            .Select(i => i is DirectoryInfo ? i.Name + "/" : i.Name)
            .Where(n => !expected.Contains(n)).Order(StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            checks.Warn(ExtraFilesCheck, "CheckpointUnexpectedFile",
                $"Not part of a checkpoint (ignored, not covered by the checksums): {string.Join(", ", extra)}.");
    }

    public static void Checksums(string directory, CheckList checks, Action<long>? onBytes, CancellationToken cancellation)
    {
        string listPath = Path.Combine(directory, Checkpoints.Checksums.FileName);
        if (!File.Exists(listPath))
        {
            checks.Fail(ChecksumListCheck, "ChecksumListMissing", $"{Checkpoints.Checksums.FileName} is missing: the save never finished, nothing can be verified.");
            return;
        }
        var entries = checks.Run(ChecksumListCheck,
            () => Checkpoints.Checksums.Parse(File.ReadAllText(listPath), listPath),
            e => $"{e.Count} files listed.");
        if (entries is null)
            return;
        foreach (var f in CheckpointNames.ExpectedFiles.Where(f => f != Checkpoints.Checksums.FileName && entries.All(e => e.FileName != f)))
            checks.Fail(ChecksumCheck(f), "ChecksumEntryMissing", $"{f} is not in the checksum list.");
        foreach (var r in Checkpoints.Checksums.Verify(directory, entries, cancellation, onBytes).OrderBy(r => r.FileName, StringComparer.Ordinal))
        {
            if (!r.Exists)
                checks.Fail(ChecksumCheck(r.FileName), "ChecksumFileMissing", $"{r.FileName} is listed but missing.");
            else if (!r.Matches)
                checks.Fail(ChecksumCheck(r.FileName), "ChecksumMismatch", $"{r.FileName} does not match its checksum (SHA-256 {r.Actual}): its bytes changed after the save.");
            else
                checks.Pass(ChecksumCheck(r.FileName), $"SHA-256 {r.Actual![..16]}… matches.");
        }
    }

    /// <summary>Bytes the checksum pass reads (for progress).</summary>
    public static long ListedBytes(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles().Where(f => f.Name != Checkpoints.Checksums.FileName).Sum(f => f.Length);
}
