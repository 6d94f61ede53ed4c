BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    Import-Module (Get-KohyaTestManifest) -Force
}

Describe 'Hyperparameter sets as objects' {
    BeforeEach { $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-hp-').FullName }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'builds from a hashtable, nested sections and lists included' {
        $set = [KohyaPS.Contracts.KohyaHyperparameterSet]@{
            Optimizer = @{ LearningRate = 1e-4 }
            Network   = @{ Type = 'lora'; TargetModules = @('Transformer2DModel', 'TextMlp') }
            Sampling  = @{ Prompts = 'a cat --w 512' }
        }
        $set.Optimizer.LearningRate | Should -Be 1e-4
        $set.Optimizer.Type | Should -Be 'AdamW'   # left out: the default
        $set.Network.TargetModules | Should -Be @('Transformer2DModel', 'TextMlp')
        $set.Sampling.Prompts | Should -Be @('a cat --w 512')
        { [KohyaPS.Contracts.KohyaHyperparameterSet]@{ Optimizer = @{ Colour = 1 } } } | Should -Throw '*Colour*'
    }

    It 'New-KohyaHyperparameterSet applies the preset, parameters and -Property, and validates' {
        $set = New-KohyaHyperparameterSet -Preset tiny -LearningRate 5e-4 -Property @{ 'Optimizer.Beta2' = 0.99; Data = @{ FlipAug = $true } }
        $set.Model.Preset | Should -Be 'tiny'
        $set.Data.Resolution | Should -Be 16
        $set.Optimizer.LearningRate | Should -Be 5e-4
        $set.Optimizer.Beta2 | Should -Be 0.99
        $set.Data.FlipAug | Should -BeTrue
        { New-KohyaHyperparameterSet -Property @{ 'Data.Resolution' = 30 } -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidHyperparameter*'
        { New-KohyaHyperparameterSet -Property @{ 'Optimizer.LearnRate' = 1 } -ErrorAction Stop } | Should -Throw -ErrorId 'HyperparameterUnknownKey*'
        { New-KohyaHyperparameterSet -Seed 1 -Property @{ 'Training.Seed' = 2 } -ErrorAction Stop } | Should -Throw -ErrorId 'HyperparameterGivenTwice*'
    }

    It 'survives Export and Import unchanged, and the file documents each option' {
        $set = New-KohyaHyperparameterSet -Preset sd15 -Property @{ 'Sampling.PromptsFile' = 'D:\prompts\cat #1.txt'; 'Network.TargetModules' = @('a: b', 'null') }
        $set | Export-KohyaHyperparameterSet -Path "$Dir/set.yaml"
        $back = Import-KohyaHyperparameterSet "$Dir/set.yaml"
        Compare-KohyaHyperparameterSet -Reference $set -Difference $back | Should -BeNullOrEmpty
        $back.Network.TargetModules | Should -Be @('a: b', 'null')
        Get-Content -Raw "$Dir/set.yaml" | Should -Match '# Base learning rate; the schedule scales it\.\s+LearningRate: 0\.0001'
    }

    It 'reports a wrong type in our YAML with the option and the line' {
        Set-Content "$Dir/bad.yaml" "Data:`n  Resolution: 16`n  BatchSize: many"
        Import-KohyaHyperparameterSet "$Dir/bad.yaml" -ErrorAction SilentlyContinue -ErrorVariable problem
        $problem[0].FullyQualifiedErrorId | Should -BeLike 'HyperparameterInvalidValue,*'
        $problem[0].Exception.Message | Should -Match 'line 3'
        $problem[0].Exception.Message | Should -Match 'Data\.BatchSize'
    }

    It 'Compare-KohyaHyperparameterSet classifies each impact' {
        $a = New-KohyaHyperparameterSet -Preset tiny
        $b = New-KohyaHyperparameterSet -Preset tiny -LearningRate 5e-4 -SaveEveryNSteps 7 -Optimizer Lion
        $d = Compare-KohyaHyperparameterSet -Reference $a -Difference $b
        ($d | Where-Object Name -eq 'Saving.SaveEveryNSteps').Impact | Should -Be 'Cosmetic'
        ($d | Where-Object Name -eq 'Optimizer.LearningRate').Impact | Should -Be 'Trajectory'
        ($d | Where-Object Name -eq 'Optimizer.Type').Impact | Should -Be 'Incompatible'
        ($d | Where-Object Name -eq 'Optimizer.LearningRate').Reference | Should -Be 0.001
        ($d | Where-Object Name -eq 'Optimizer.LearningRate').Difference | Should -Be 5e-4
        @(Compare-KohyaHyperparameterSet $a $b -MinimumImpact Incompatible).Name | Should -Be @('Optimizer.Type')
        (Compare-KohyaHyperparameterSet $a $b | Out-String) | Should -Match 'Name\s+Reference\s+Difference\s+Impact'
    }
}

Describe 'Importing kohya configurations' {
    BeforeEach { $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-hp-').FullName }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'maps a kohya_ss GUI JSON file by the documented keys and warns about every key it cannot apply' {
        @'
{
  "LoRA_type": "Standard", "network_dim": 16, "network_alpha": 8, "unet_lr": 0.0001, "text_encoder_lr": 0,
  "learning_rate": 0.0005, "optimizer": "AdamW", "optimizer_args": "weight_decay=0.05 betas=0.9,0.99",
  "lr_scheduler": "cosine_with_restarts", "lr_scheduler_num_cycles": "3", "lr_warmup": 10, "max_train_steps": "200",
  "seed": "31", "train_batch_size": 2, "max_resolution": "64,64", "caption_extension": ".caption",
  "min_snr_gamma": 5, "save_every_n_steps": 25, "sample_sampler": "euler_a",
  "epoch": 10, "clip_skip": 2, "xformers": "xformers", "color_aug": false, "output_name": "cat"
}
'@ | Set-Content "$Dir/gui.json"
        $set = Import-KohyaHyperparameterSet "$Dir/gui.json" -WarningVariable warnings -WarningAction SilentlyContinue
        $set.Network.Type | Should -Be 'lora'
        $set.Network.Dim | Should -Be 16
        $set.Network.TextEncoderLearningRate | Should -BeNullOrEmpty
        $set.Optimizer.WeightDecay | Should -Be 0.05
        $set.Optimizer.Beta2 | Should -Be 0.99
        $set.LRSchedule.Name | Should -Be 'cosine_with_restarts'
        $set.LRSchedule.NumCycles | Should -Be 3
        $set.LRSchedule.WarmupSteps | Should -Be 20
        $set.Training.Seed | Should -Be 31
        $set.Data.Resolution | Should -Be 64
        $set.Data.CaptionExtension | Should -Be '.caption'
        $set.Saving.SaveEveryNSteps | Should -Be 25
        $keys = $warnings | ForEach-Object { if ($_.Message -match "'(\w+)' =") { $Matches[1] } } | Sort-Object
        $keys | Should -Be @('clip_skip', 'epoch', 'output_name')
    }

    It 'maps an sd-scripts TOML configuration and --flag arguments alike' {
        @'
[model]
pretrained_model_name_or_path = "sd15.safetensors"
v_parameterization = true
[optimizer]
optimizer_type = "Lion"
learning_rate = 3e-5
optimizer_args = ["weight_decay=0.1"]
lr_scheduler = "constant_with_warmup"
lr_warmup_steps = 50
[training]
max_train_steps = 1000
train_batch_size = 4
noise_offset = 0.03
'@ | Set-Content "$Dir/config.toml"
        $toml = Import-KohyaHyperparameterSet "$Dir/config.toml" -WarningVariable tw -WarningAction SilentlyContinue
        $flags = Import-KohyaHyperparameterSet -ArgumentList '--pretrained_model_name_or_path=sd15.safetensors', '--v_parameterization',
            '--optimizer_type', 'Lion', '--learning_rate', '3e-5', '--optimizer_args', 'weight_decay=0.1', '--lr_scheduler', 'constant_with_warmup',
            '--lr_warmup_steps', '50', '--max_train_steps', '1000', '--train_batch_size', '4', '--noise_offset', '0.03' -WarningVariable fw -WarningAction SilentlyContinue
        Compare-KohyaHyperparameterSet $toml $flags | Should -BeNullOrEmpty
        $toml.Optimizer.Type | Should -Be 'Lion'
        $toml.Diffusion.PredictionType | Should -Be 'v_prediction'
        $toml.LRSchedule.WarmupSteps | Should -Be 50
        $toml.Diffusion.NoiseOffset | Should -Be 0.03
        $toml.Model.Path | Should -Be 'sd15.safetensors'
        $toml.Model.Preset | Should -Be 'sd15'
        @($tw).Count | Should -Be 0
        @($fw).Count | Should -Be 0
    }

    It 'trains a v2 configuration as nothing it is not: the model, v2 and cache_latents warn, the precision applies' {
        $set = Import-KohyaHyperparameterSet -ArgumentList '--v2 --pretrained_model_name_or_path sd21.safetensors --cache_latents --mixed_precision bf16 --gradient_checkpointing' `
            -WarningVariable w -WarningAction SilentlyContinue
        $set.Model.Preset | Should -Be 'small'
        $set.Model.Path | Should -Be ''
        $set.Data.CacheLatents | Should -BeFalse
        $set.Resources.Dtype | Should -Be 'bfloat16'
        $set.Resources.GradientCheckpointing | Should -BeTrue
        $keys = $w | ForEach-Object { if ($_.Message -match "'(\w+)' =") { $Matches[1] } } | Sort-Object
        $keys | Should -Be @('cache_latents', 'pretrained_model_name_or_path', 'v2')
    }
}

Describe 'Resume policy through pwsh' {
    BeforeAll {
        $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-hp-resume-').FullName
        $config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml') -SaveEvery 0
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$run = '$Dir/run'
`$null = Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps 2 -OutputPath `$run
function Steps { (Get-KohyaCheckpoint -Path `$run | ForEach-Object Step) -join ',' }

# 1. Refused: a set with a changed learning rate and batch size, neither named.
`$changed = (Get-KohyaCheckpoint -Path `$run -Latest).HyperparameterSet.Clone()
`$changed.Optimizer.LearningRate = 5e-4
`$changed.Data.BatchSize = 2
try { Resume-KohyaTraining -Path `$run -HyperparameterSet `$changed -MaxSteps 3; 'REFUSED=no' }
catch { "REFUSED=`$(`$_.FullyQualifiedErrorId.Split(',')[0]) LISTED=`$((`$_.TargetObject | ForEach-Object Name) -join ',')"; "MESSAGE=`$(`$_.Exception.Message -replace '\r?\n', ' | ')" }
"STEPS1=`$(Steps)"

# 2. Allowed: the change is named in -Override; a re-warm is asked for too.
`$r2 = Resume-KohyaTraining -Path `$run -MaxSteps 3 -Override @{ 'Optimizer.LearningRate' = 5e-4 } -Rewarm 2
"ALLOWED=`$(`$r2.Status) `$(`$r2.FinalStep)"

# 3. Forced: a YAML file with another seed, accepted with -Force.
`$seeded = (Get-KohyaCheckpoint -Path `$run -Latest).HyperparameterSet.Clone()
`$seeded.Training.Seed = 7
`$seeded | Export-KohyaHyperparameterSet -Path '$Dir/seeded.yaml'
try { `$null = Resume-KohyaTraining -Path `$run -ConfigPath '$Dir/seeded.yaml' -MaxSteps 4 } catch { "UNFORCED=`$(`$_.FullyQualifiedErrorId.Split(',')[0])" }
`$r3 = Resume-KohyaTraining -Path `$run -ConfigPath '$Dir/seeded.yaml' -MaxSteps 4 -Force -WarningVariable forcedWarnings -WarningAction SilentlyContinue
"FORCED=`$(`$r3.Status) `$(`$r3.FinalStep) WARNED=`$(@(`$forcedWarnings | Where-Object Message -match 'Training\.Seed').Count)"

# 4. Incompatible: the optimizer type, refused even with -Force, converted with -ResetOptimizer.
try { `$null = Resume-KohyaTraining -Path `$run -MaxSteps 5 -Force -Override @{ Optimizer = @{ Type = 'Lion' } } }
catch { "INCOMPATIBLE=`$(`$_.FullyQualifiedErrorId.Split(',')[0])" }
`$r4 = Resume-KohyaTraining -Path `$run -MaxSteps 5 -ResetOptimizer -Override @{ Optimizer = @{ Type = 'Lion'; LearningRate = 1e-4 } }
"RESET=`$(`$r4.Status) `$(`$r4.FinalStep)"
"STEPS2=`$(Steps)"

`$last = Get-KohyaCheckpoint -Path `$run -Latest
"EFFECTIVE=`$(`$last.HyperparameterSet.Optimizer.Type) `$(`$last.HyperparameterSet.Optimizer.LearningRate) `$(`$last.HyperparameterSet.Training.Seed) `$(`$last.HyperparameterSet.LRSchedule.RewarmSteps)"
"SEGMENTS=`$(`$last.Lineage.Segments.Count)"
foreach (`$segment in `$last.Lineage.Segments) {
    foreach (`$o in `$segment.Overrides) { "OVERRIDE[`$(`$segment.StartStep)]=`$o" }
    foreach (`$w in `$segment.Warnings) { "WARNING[`$(`$segment.StartStep)]=`$w" }
}
"@ -TimeoutSeconds 600
        $script:Result = $r
        $script:Out = $r.Output
    }
    AfterAll { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'runs the whole sequence' {
        $Result.ExitCode | Should -Be 0 -Because ($Out -join "`n")
    }

    It 'refuses unnamed Trajectory changes, listing each, and trains nothing' {
        $Out | Should -Contain 'REFUSED=HyperparameterDriftRefused LISTED=Optimizer.LearningRate,Data.BatchSize'
        ($Out | Where-Object { $_ -like 'MESSAGE=*' }) | Should -Match 'Optimizer\.LearningRate: 0\.001 -> 0\.0005 \(Trajectory\).*Data\.BatchSize: 4 -> 2 \(Trajectory\)'
        $Out | Should -Contain 'STEPS1=2'
    }

    It 'allows a change named in -Override, with -Rewarm, and records both in the lineage' {
        $Out | Should -Contain 'ALLOWED=Completed 3'
        $Out | Should -Contain 'OVERRIDE[2]=Training.MaxSteps: 2 -> 3'
        $Out | Should -Contain 'OVERRIDE[2]=Optimizer.LearningRate: 0.001 -> 0.0005 (Trajectory) via -Override'
        $Out | Should -Contain 'OVERRIDE[2]=LRSchedule.RewarmSteps: 0 -> 2 (Trajectory) via -Rewarm'
        $Out | Should -Contain 'OVERRIDE[2]=LRSchedule.RewarmStartStep: 0 -> 2 (Trajectory) via -Rewarm'
    }

    It 'refuses a changed seed from -ConfigPath unless -Force, and records and warns about the forced change' {
        $Out | Should -Contain 'UNFORCED=HyperparameterDriftRefused'
        $Out | Should -Contain 'FORCED=Completed 4 WARNED=1'
        $Out | Should -Contain 'OVERRIDE[3]=Training.Seed: 42 -> 7 (Trajectory) via -Force'
        ($Out | Where-Object { $_ -like 'WARNING`[3`]=*' }) | Should -Match 'Force accepted 1 change.*Training\.Seed'
    }

    It 'refuses an optimizer change even with -Force, and converts it with -ResetOptimizer' {
        $Out | Should -Contain 'INCOMPATIBLE=HyperparameterChangeIncompatible'
        $Out | Should -Contain 'RESET=Completed 5'
        $Out | Should -Contain 'OVERRIDE[4]=Optimizer.Type: AdamW -> Lion (Incompatible) via -ResetOptimizer'
        ($Out | Where-Object { $_ -like 'OVERRIDE`[4`]=Optimizer state: reset*' }) | Should -Not -BeNullOrEmpty
    }

    It 'writes the effective set into the new checkpoint and keeps one lineage' {
        $Out | Should -Contain 'STEPS2=2,3,4,5'
        $Out | Should -Contain 'EFFECTIVE=Lion 0.0001 7 2'
        $Out | Should -Contain 'SEGMENTS=4'
    }
}
