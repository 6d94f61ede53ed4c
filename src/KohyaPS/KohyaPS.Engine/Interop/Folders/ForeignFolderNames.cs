using System.Globalization;
using System.Text.RegularExpressions;

namespace KohyaPS.Engine.Interop;

/// <summary>The folder and file names other trainers give their saves.</summary>
internal static partial class ForeignFolderNames
{
    public const string TrainStateFile = SdScriptsTrainState.FileName;
    public const string SafeModelFile = "model.safetensors";
    public const string PickleModelFile = "pytorch_model.bin";
    public const string OptimizerFile = "optimizer.bin";
    public const string SchedulerFile = "scheduler.bin";
    public const string OneTrainerMetaFile = "meta.json";

    /// <summary>sd-scripts <c>STEP_STATE_NAME</c> = <c>"{}-step{:08d}-state"</c>.</summary>
    [GeneratedRegex(@"^(?<name>.+)-step(?<step>\d{8,})-state$", RegexOptions.CultureInvariant)]
    public static partial Regex SdScriptsStepState();

    /// <summary>sd-scripts <c>EPOCH_STATE_NAME</c> = <c>"{}-{:06d}-state"</c>.</summary>
    [GeneratedRegex(@"^(?<name>.+)-(?<epoch>\d{6,})-state$", RegexOptions.CultureInvariant)]
    public static partial Regex SdScriptsEpochState();

    /// <summary>sd-scripts <c>LAST_STATE_NAME</c> = <c>"{}-state"</c> (saved at the end of training).</summary>
    [GeneratedRegex(@"^(?<name>.+)-state$", RegexOptions.CultureInvariant)]
    public static partial Regex SdScriptsLastState();

    /// <summary>diffusers example scripts: <c>os.path.join(output_dir, f"checkpoint-{global_step}")</c>.</summary>
    [GeneratedRegex(@"^checkpoint-(?<step>\d+)$", RegexOptions.CultureInvariant)]
    public static partial Regex DiffusersCheckpoint();

    /// <summary>OneTrainer: <c>f"{%Y-%m-%d_%H-%M-%S}-backup-{global_step}-{epoch}-{epoch_step}"</c> under <c>workspace/backup</c>.</summary>
    [GeneratedRegex(@"^(?<stamp>\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})-backup-(?<global>\d+)-(?<epoch>\d+)-(?<epochstep>\d+)$", RegexOptions.CultureInvariant)]
    public static partial Regex OneTrainerBackup();

    /// <summary>accelerate's RNG state file per process: <c>random_states_{process_index}.pkl</c>.</summary>
    [GeneratedRegex(@"^random_states_\d+\.pkl$", RegexOptions.CultureInvariant)]
    public static partial Regex RandomStates();

    public static bool IsSdScriptsStateName(string name) => SdScriptsLastState().IsMatch(name);

    /// <summary>The files whose presence makes a <c>…-state</c> folder an sd-scripts state.</summary>
    public static bool IsStateFile(string name) =>
        name is TrainStateFile or SafeModelFile or PickleModelFile or OptimizerFile or SchedulerFile || RandomStates().IsMatch(name);

    public static long? Number(Group group) =>
        group.Success && long.TryParse(group.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : null;
}
