using KohyaPS.Contracts;
using KohyaPS.Engine.Checkpoints.Safetensors;
using static KohyaPS.Engine.Interop.ForeignFolderNames;

namespace KohyaPS.Engine.Interop;

/// <summary>
/// Looks into an sd-scripts <c>--save_state</c> folder: parses train_state.json strictly, validates model.safetensors
/// through the safetensors reader (and describes it when it holds kohya LoRA tensors, as train_network.py's states
/// do), and reports which accelerate files are there. optimizer.bin, scheduler.bin and random_states_*.pkl are
/// pickles: listed with their sizes, never opened.
/// </summary>
internal static class SdScriptsStateInspector
{
    public static KohyaForeignCheckpointInfo Inspect(string folder, bool verify)
    {
        var findings = new List<KohyaInteropFinding>();
        var files = FolderListing.List(folder, findings);
        bool Has(string name) => files.Any(f => f.RelativePath == name);
        string name = Path.GetFileName(folder);

        SdScriptsTrainState? state = null;
        if (Has(TrainStateFile))
        {
            try
            {
                state = SdScriptsTrainState.Read(Path.Combine(folder, TrainStateFile));
            }
            catch (KohyaException ex)
            {
                findings.Add(KohyaLoraReader.Finding(ex.ErrorId, KohyaFindingSeverity.Error, ex.Message, TrainStateFile));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                findings.Add(KohyaLoraReader.Finding(InteropErrorIds.Unreadable, KohyaFindingSeverity.Error, $"'{folder}/{TrainStateFile}' could not be read: {ex.Message}", TrainStateFile));
            }
        }
        else
        {
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.StateTrainStateMissing, KohyaFindingSeverity.Warning,
                $"'{folder}' has no {TrainStateFile}; the step and epoch come from the folder name, if at all.", TrainStateFile));
        }

        long? nameStep = Number(SdScriptsStepState().Match(name).Groups["step"]);
        long? nameEpoch = Number(SdScriptsEpochState().Match(name).Groups["epoch"]);
        if (state is not null && ((nameStep is { } s && s != state.CurrentStep) || (nameEpoch is { } e && e != state.CurrentEpoch)))
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.StateNameMismatch, KohyaFindingSeverity.Warning,
                $"'{name}' names {(nameStep is not null ? $"step {nameStep}" : $"epoch {nameEpoch}")}, but {TrainStateFile} says epoch {state.CurrentEpoch}, step {state.CurrentStep}.",
                TrainStateFile));

        string? model = null;
        KohyaLoraInfo? lora = null;
        if (Has(SafeModelFile))
        {
            model = SafeModelFile;
            lora = ValidateModel(Path.Combine(folder, SafeModelFile), verify, findings);
        }
        else if (Has(PickleModelFile))
        {
            model = PickleModelFile;
        }
        else
        {
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.StateModelMissing, KohyaFindingSeverity.Error,
                $"'{folder}' has neither {SafeModelFile} nor {PickleModelFile}: there are no weights to resume from.", folder));
        }

        var randomStates = files.Where(f => RandomStates().IsMatch(f.RelativePath)).Select(f => f.RelativePath).ToArray();
        if (!Has(OptimizerFile))
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.StateOptimizerMissing, KohyaFindingSeverity.Warning,
                $"'{folder}' has no {OptimizerFile}: resuming would restart the optimizer's moments.", OptimizerFile));
        if (!Has(SchedulerFile))
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.StateSchedulerMissing, KohyaFindingSeverity.Warning,
                $"'{folder}' has no {SchedulerFile}: resuming would restart the learning-rate schedule.", SchedulerFile));
        if (randomStates.Length == 0)
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.StateRandomStatesMissing, KohyaFindingSeverity.Warning,
                $"'{folder}' has no random_states_*.pkl: resuming would not restore the random generators.", folder));

        return new KohyaForeignCheckpointInfo
        {
            Path = folder,
            Name = name,
            Format = KohyaForeignFormat.SdScriptsState,
            Step = state?.CurrentStep ?? nameStep,
            Epoch = state?.CurrentEpoch ?? nameEpoch,
            Created = FolderListing.LastWriteUtc(folder),
            SizeBytes = files.Sum(f => f.Length),
            Files = files,
            ModelFile = model,
            HasOptimizerState = Has(OptimizerFile),
            HasSchedulerState = Has(SchedulerFile),
            RandomStateFiles = randomStates,
            ExtraFiles = files.Select(f => f.RelativePath).Where(p => !IsStateFile(p)).ToArray(),
            Lora = lora,
            Findings = findings,
        };
    }

    /// <summary>Validates the header (format, offsets, size); describes the LoRA in it when there is one.</summary>
    private static KohyaLoraInfo? ValidateModel(string path, bool verify, List<KohyaInteropFinding> findings)
    {
        try
        {
            using var file = SafetensorsFile.Open(path);
            if (!KohyaLoraReader.HasLoraTensors(file.Header))
                return null;
            var lora = KohyaLoraReader.Describe(file, verify);
            findings.AddRange(lora.Findings);
            return lora;
        }
        catch (KohyaException ex)
        {
            findings.Add(KohyaLoraReader.Finding(ex.ErrorId, KohyaFindingSeverity.Error, ex.Message, SafeModelFile));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            findings.Add(KohyaLoraReader.Finding(InteropErrorIds.Unreadable, KohyaFindingSeverity.Error, $"'{path}' could not be read: {ex.Message}", SafeModelFile));
        }
        return null;
    }
}
