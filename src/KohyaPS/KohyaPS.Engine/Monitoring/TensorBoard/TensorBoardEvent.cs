namespace KohyaPS.Engine.Monitoring.TensorBoard;

/// <summary>SessionLog.SessionStatus of TensorFlow's event.proto.</summary>
public enum SessionStatus
{
    Unspecified = 0,
    Start = 1,
    Stop = 2,
    Checkpoint = 3,
}

/// <summary>A named scalar of a summary (Summary.Value with simple_value).</summary>
public sealed record TensorBoardScalar(string Tag, float Value);

/// <summary>
/// The part of TensorFlow's <c>Event</c> message KohyaPS writes and reads: wall time, step, and one of
/// file_version, a summary of scalars, or a session log. Field numbers are those of event.proto and summary.proto.
/// </summary>
public sealed record TensorBoardEvent
{
    public const string FileVersion2 = "brain.Event:2";

    // Event
    private const int WallTimeField = 1, StepField = 2, FileVersionField = 3, SummaryField = 5, SessionLogField = 7;
    // Summary, Summary.Value, SessionLog
    private const int SummaryValueField = 1, ValueTagField = 1, ValueSimpleValueField = 2, SessionStatusField = 1;

    public double WallTime { get; init; }
    public long Step { get; init; }
    public string? FileVersion { get; init; }
    public IReadOnlyList<TensorBoardScalar> Scalars { get; init; } = Array.Empty<TensorBoardScalar>();
    public SessionStatus? Session { get; init; }

    public static double WallTimeOf(DateTime utc) => (utc.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;

    public byte[] Encode()
    {
        var e = new ProtoWriter();
        e.Double(WallTimeField, WallTime);
        if (Step != 0)
            e.Varint(StepField, unchecked((ulong)Step));
        if (FileVersion is not null)
            e.String(FileVersionField, FileVersion);
        if (Scalars.Count > 0)
        {
            var summary = new ProtoWriter();
            foreach (var scalar in Scalars)
            {
                var value = new ProtoWriter();
                value.String(ValueTagField, scalar.Tag);
                value.Float(ValueSimpleValueField, scalar.Value);
                summary.Message(SummaryValueField, value);
            }
            e.Message(SummaryField, summary);
        }
        if (Session is { } status)
        {
            var log = new ProtoWriter();
            log.Varint(SessionStatusField, (ulong)status);
            e.Message(SessionLogField, log);
        }
        return e.ToArray();
    }

    /// <summary>Decodes an event; fields KohyaPS does not use (graphs, images, histograms) are skipped.</summary>
    public static TensorBoardEvent Decode(ReadOnlyMemory<byte> data)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        var scalars = new List<TensorBoardScalar>();
        SessionStatus? session = null;
        foreach (var field in ProtoReader.Fields(data))
        {
            switch (field.Number, field.Type)
            {
                case (WallTimeField, ProtoWireType.Fixed64): wallTime = field.AsDouble; break;
                case (StepField, ProtoWireType.Varint): step = field.AsInt64; break;
                case (FileVersionField, ProtoWireType.LengthDelimited): fileVersion = field.AsString; break;
                case (SummaryField, ProtoWireType.LengthDelimited): scalars.AddRange(DecodeSummary(field.Payload)); break;
                case (SessionLogField, ProtoWireType.LengthDelimited): session = DecodeSessionStatus(field.Payload); break;
            }
        }
        return new TensorBoardEvent { WallTime = wallTime, Step = step, FileVersion = fileVersion, Scalars = scalars, Session = session };
    }

    private static IEnumerable<TensorBoardScalar> DecodeSummary(ReadOnlyMemory<byte> summary)
    {
        foreach (var value in ProtoReader.Fields(summary))
        {
            if (value.Number != SummaryValueField || value.Type != ProtoWireType.LengthDelimited)
                continue;
            string tag = "";
            float? simple = null;
            foreach (var f in ProtoReader.Fields(value.Payload))
            {
                if (f.Number == ValueTagField && f.Type == ProtoWireType.LengthDelimited) tag = f.AsString;
                else if (f.Number == ValueSimpleValueField && f.Type == ProtoWireType.Fixed32) simple = f.AsFloat;
            }
            if (simple is { } v) // images, histograms and tensors are not scalars of ours
                yield return new TensorBoardScalar(tag, v);
        }
    }

    private static SessionStatus DecodeSessionStatus(ReadOnlyMemory<byte> log)
    {
        var status = SessionStatus.Unspecified;
        foreach (var f in ProtoReader.Fields(log))
            if (f.Number == SessionStatusField && f.Type == ProtoWireType.Varint)
                status = (SessionStatus)(int)f.Bits;
        return status;
    }
}
