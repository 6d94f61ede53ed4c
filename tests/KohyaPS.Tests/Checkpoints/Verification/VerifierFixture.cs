using KohyaPS.Engine.Checkpoints;
using KohyaPS.Engine.Checkpoints.Safetensors;
using KohyaPS.Engine.Training;
using KohyaPS.Tests.Models;
using KohyaPS.Tests.Training;
using static TorchSharp.torch;

namespace KohyaPS.Tests.Checkpoints.Verification;

/// <summary>One real checkpoint, trained once (tiny model, 2 steps); each test damages its own copy.</summary>
public sealed class VerifierFixture : IDisposable
{
    public VerifierFixture()
    {
        Root = Directory.CreateTempSubdirectory("kohya-verify-").FullName;
        string data = TrainingTestSupport.DemoDataset(Root, 8);
        string run = Path.Combine(Root, "source");
        TrainingRunner.Run(new TrainingRequest
        {
            Hyperparameters = TrainingTestSupport.Tiny(2),
            DatasetPath = data,
            OutputPath = run,
        }, NullTrainingObserver.Instance, CancellationToken.None);
        Source = CheckpointStore.List(run).Single().Path;
    }

    public string Root { get; }

    /// <summary>The pristine checkpoint folder (never modified).</summary>
    public string Source { get; }

    /// <summary>A fresh copy of the checkpoint under <c>&lt;root&gt;/&lt;name&gt;/checkpoints/</c>.</summary>
    public string Copy(string name)
    {
        string target = Path.Combine(Root, name, CheckpointNames.Folder, Path.GetFileName(Source));
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(Source))
            File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        return target;
    }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

/// <summary>Ways to damage a checkpoint copy, as a careless tool, a bad disk or a hand edit would.</summary>
internal static class Damage
{
    public static void FlipBit(string file, Func<long, long> offsetFromLength, int bit = 3)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        long offset = offsetFromLength(stream.Length);
        stream.Position = offset;
        int b = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(b ^ (1 << bit)));
    }

    public static void Truncate(string file, long length)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.SetLength(length);
    }

    public static void EditText(string file, Func<string, string> edit) => File.WriteAllText(file, edit(File.ReadAllText(file)));

    /// <summary>Rewrites a safetensors file with its tensors changed by <paramref name="edit"/> (metadata kept).</summary>
    public static void EditTensors(string file, Action<Dictionary<string, Tensor>> edit)
    {
        Dictionary<string, Tensor> tensors;
        Dictionary<string, string> metadata;
        using (var f = SafetensorsFile.Open(file))
        {
            tensors = f.ReadAll().ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
            metadata = f.Metadata.Where(kv => kv.Key != "sshs_model_hash").ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        }
        edit(tensors);
        SafetensorsWriter.Write(file, tensors, metadata);
        foreach (var t in tensors.Values) t.Dispose();
    }

    /// <summary>Writes a new checksum list that matches the files as they are (a hand edit that covers its tracks).</summary>
    public static void Rechecksum(string dir)
    {
        var entries = Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => n != Checksums.FileName)
            .Select(n => new ChecksumEntry(n!, Checksums.HashFile(Path.Combine(dir, n!))));
        File.WriteAllText(Path.Combine(dir, Checksums.FileName), Checksums.Format(entries));
    }

    /// <summary>Offset of the middle of the data region of a safetensors file.</summary>
    public static long MiddleOfData(string file)
    {
        var header = SafetensorsHeader.Read(file);
        return header.DataStart + header.DataLength / 2;
    }
}
