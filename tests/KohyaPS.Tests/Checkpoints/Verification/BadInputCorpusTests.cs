using System.Reflection;
using System.Text.Json;
using KohyaPS.Engine;
using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;

namespace KohyaPS.Tests.Checkpoints.Verification;

/// <summary>
/// Every file of <c>tests/corpus</c> (written by make-corpus.py, listed in cases.json) is refused by its reader
/// with exactly the error id the case names — or, for a reference case with no id, accepted.
/// </summary>
public sealed class BadInputCorpusTests
{
    public sealed record CorpusCase(string File, string Reader, string ErrorId, string Why)
    {
        public override string ToString() => File;
    }

    private static readonly string Root = Path.Combine(TestPaths.RepoRoot, "tests", "corpus");

    public static IReadOnlyList<CorpusCase> Cases { get; } = JsonSerializer.Deserialize<List<CorpusCase>>(
        File.ReadAllText(Path.Combine(Root, "cases.json")), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;

    public static TheoryData<string> CaseFiles()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases) data.Add(c.File);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseFiles))]
    public void CorpusFileIsRefusedWithItsErrorId(string file)
    {
        var c = Cases.Single(x => x.File == file);
        string path = Path.Combine(Root, c.File);
        Action read = c.Reader switch
        {
            "safetensors" => () => { using var f = SafetensorsFile.Open(path); },
            "safetensors-read" => () => ReadEveryTensor(path),
            "state" => () => CheckpointState.Parse(File.ReadAllText(path), path),
            "checksums" => () => Checksums.Parse(File.ReadAllText(path), path),
            _ => throw new InvalidOperationException($"cases.json names an unknown reader '{c.Reader}'"),
        };
        if (c.ErrorId.Length == 0)
        {
            read();
            return;
        }
        var error = Assert.ThrowsAny<KohyaException>(read);
        Assert.True(c.ErrorId == error.ErrorId, $"{c.File} ({c.Why}): expected {c.ErrorId}, got {error.ErrorId}: {error.Message}");
    }

    [Fact]
    public void CorpusCoversEverySafetensorsRuleThatAFileCanBreak()
    {
        var ids = typeof(SafetensorsErrorIds).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (string)f.GetRawConstantValue()!)
            .Where(id => id != SafetensorsErrorIds.TensorNotFound); // a lookup error, not a property of a file
        var covered = Cases.Select(c => c.ErrorId).ToHashSet();
        Assert.All(ids, id => Assert.Contains(id, covered));
        Assert.All(Cases, c => Assert.True(File.Exists(Path.Combine(Root, c.File)), c.File));
    }

    private static void ReadEveryTensor(string path)
    {
        using var file = SafetensorsFile.Open(path);
        foreach (var (_, tensor) in file.ReadAll())
            tensor.Dispose();
    }
}
