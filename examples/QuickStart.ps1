<#
.SYNOPSIS
    Quick start: train the demo (a tiny UNet on the embedded synthetic dataset), look at the checkpoints and
    the loss, and check the newest checkpoint.
.EXAMPLE
    ./examples/QuickStart.ps1 -ModuleManifest ./module/KohyaPS.psd1 -MaxSteps 40
#>
param(
    # The module to use; default: KohyaPS from PSModulePath.
    [string] $ModuleManifest = 'KohyaPS',
    [string] $RunPath = (Join-Path (Get-Location) 'quickstart-run'),
    [long] $MaxSteps = 40,
    [int] $SaveEveryNSteps = 20,
    # Image size of the demo dataset; 16 or 32 keep a run to seconds or minutes on a CPU.
    [int] $Resolution = 32
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest

if (Test-Path $RunPath) { Remove-Item $RunPath -Recurse -Force }
$hp = New-KohyaHyperparameterSet -Preset tiny
$hp.Data.Resolution = $Resolution
$hp.Data.BatchSize = 2
$hp.LRSchedule.WarmupSteps = 0

Write-Host "== Training the demo to step $MaxSteps in $RunPath" -ForegroundColor Cyan
$result = $hp | Invoke-KohyaTraining -Demo -MaxSteps $MaxSteps -SaveEveryNSteps $SaveEveryNSteps -OutputPath $RunPath
$result | Format-List Status, FinalStep, InitialLoss, FinalLoss, StepsPerSecond | Out-Host

Write-Host '== Its checkpoints' -ForegroundColor Cyan
Get-KohyaCheckpoint -Path $RunPath | Format-Table | Out-Host

Write-Host '== The newest one, checked' -ForegroundColor Cyan
$test = Get-KohyaCheckpoint -Path $RunPath -Latest | Test-KohyaCheckpoint
$test | Format-Table | Out-Host
if (-not $test.IsValid) { throw "The newest checkpoint did not pass its checks." }

Write-Host '== The loss log (one JSON line per step)' -ForegroundColor Cyan
Get-Content (Join-Path $RunPath 'logs/train.jsonl') | Select-Object -Last 3 | Out-Host
"Continue it any time: Resume-KohyaTraining -Path '$RunPath' -Latest -AdditionalSteps 100"
