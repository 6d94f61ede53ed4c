using System.Text.Json;

namespace KohyaPS.Bench;

/// <summary>The kill -9 crash run's summary, as bench/Invoke-CrashTrials.ps1 writes it.</summary>
public sealed class CrashFigures
{
    public int Trials { get; init; }
    public int Kills { get; init; }
    public int KillsInsideSave { get; init; }
    public int CheckpointsTested { get; init; }
    public int Corrupt { get; init; }
    public List<string> CorruptDetails { get; init; } = new();
    public long TargetStep { get; init; }
    public long FinalStep { get; init; }
    public int CheckpointsCompared { get; init; }
    public int Mismatches { get; init; }
    public List<string> MismatchDetails { get; init; } = new();
    public double Seconds { get; init; }

    public bool Passed => Kills > 0 && Corrupt == 0 && Mismatches == 0 && FinalStep == TargetStep;

    public static CrashFigures Load(string path) =>
        JsonSerializer.Deserialize<CrashFigures>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
        ?? throw new InvalidDataException($"'{path}' holds no crash summary.");
}

/// <summary>The dataset manifest hashing figures, as bench/Measure-DatasetHashing.ps1 writes them.</summary>
public sealed class DatasetHashFigures
{
    public int Files { get; init; }
    public double Mebibytes { get; init; }
    public int Processors { get; init; }
    public int Rounds { get; init; }
    public double ManifestOneThreadMBps { get; init; }
    public double ManifestAllThreadsMBps { get; init; }
    public double OpensslOneProcessMBps { get; init; }
    public double OpensslAllProcessesMBps { get; init; }
    public double RatioOne { get; init; }
    public double RatioAll { get; init; }

    public static DatasetHashFigures Load(string path) =>
        JsonSerializer.Deserialize<DatasetHashFigures>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
        ?? throw new InvalidDataException($"'{path}' holds no dataset hashing summary.");
}
