using System.Globalization;
using System.Text.Json;
using KohyaPS.Engine.Training;

namespace KohyaPS.Engine.Monitoring;

/// <summary>
/// Appends one JSON object per optimizer step to <c>&lt;run&gt;/logs/train.jsonl</c>: step (1-based,
/// cumulative), epoch, loss, lr, grad_norm, samples_per_second, time (UTC, ISO 8601), segment. Each line
/// is flushed as written, so a killed run loses at most the line being written; a resumed run appends.
/// </summary>
public sealed class LossLogHook : ITrainingHook, IDisposable
{
    private readonly string _path;
    private FileStream? _stream;

    public LossLogHook(string runDirectory)
    {
        _path = Path.Combine(runDirectory, "logs", "train.jsonl");
    }

    public string LogPath => _path;

    public void OnRunStarted(TrainingContext context)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _stream = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        TruncateTornLine(_stream);
        _stream.Seek(0, SeekOrigin.End);
    }

    public void OnStepEnded(TrainingContext context, StepReport report)
    {
        if (_stream is null)
            return;
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("step", report.Step);
            json.WriteNumber("epoch", report.Epoch);
            WriteDouble(json, "loss", report.Loss);
            WriteDouble(json, "lr", report.LearningRate);
            WriteDouble(json, "grad_norm", report.GradNorm);
            WriteDouble(json, "samples_per_second", report.Seconds > 0 ? report.Samples / report.Seconds : 0);
            json.WriteString("time", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("segment", context.SegmentId);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        _stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        _stream.Flush();
    }

    public void OnRunEnded(TrainingContext context, string status) => Dispose();

    public void Dispose()
    {
        _stream?.Flush(flushToDisk: true);
        _stream?.Dispose();
        _stream = null;
    }

    /// <summary>JSON has no NaN: non-finite values are written as strings ("NaN", "Infinity").</summary>
    private static void WriteDouble(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
            json.WriteNumber(name, value);
        else
            json.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A kill during a write can leave a last line without its newline: cut it off.</summary>
    private static void TruncateTornLine(FileStream stream)
    {
        long end = stream.Length;
        var buffer = new byte[4096];
        while (end > 0)
        {
            int count = (int)Math.Min(buffer.Length, end);
            stream.Seek(end - count, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, count);
            int newline = Array.LastIndexOf(buffer, (byte)'\n', count - 1, count);
            if (newline >= 0)
            {
                stream.SetLength(end - count + newline + 1);
                return;
            }
            end -= count;
        }
        stream.SetLength(0);
    }
}
