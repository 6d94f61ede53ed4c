<#
.SYNOPSIS
    Compare a dataset with what a checkpoint was trained on before resuming: a retouched caption is found,
    resume refuses it (DatasetChanged, exit code 14 when unattended) until it is accepted, and the accepted
    change is recorded in the run's lineage.
.EXAMPLE
    ./examples/CompareDatasetsBeforeResume.ps1 -ModuleManifest ./module/KohyaPS.psd1
#>
param(
    [string] $ModuleManifest = 'KohyaPS',
    [string] $RunPath = (Join-Path (Get-Location) 'dataset-run'),
    [long] $FirstSteps = 4,
    [long] $AdditionalSteps = 4,
    [int] $Resolution = 32
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest

if (Test-Path $RunPath) { Remove-Item $RunPath -Recurse -Force }
$hp = New-KohyaHyperparameterSet -Preset tiny
$hp.Data.Resolution = $Resolution
$hp.Data.BatchSize = 2
$hp.LRSchedule.WarmupSteps = 0
$hp | Invoke-KohyaTraining -Demo -MaxSteps $FirstSteps -SaveEveryNSteps $FirstSteps -OutputPath $RunPath | Out-Null
$checkpoint = Get-KohyaCheckpoint -Path $RunPath -Latest

Write-Host '== Someone retouches a caption' -ForegroundColor Cyan
$caption = Get-ChildItem (Join-Path $RunPath 'dataset') -Recurse -Filter *.txt | Sort-Object FullName | Select-Object -First 1
Set-Content -LiteralPath $caption.FullName -Value 'a hand-corrected caption'

Write-Host '== What changed since the checkpoint' -ForegroundColor Cyan
$now = New-KohyaDatasetManifest -Path (Join-Path $RunPath 'dataset') -HyperparameterSet $checkpoint.HyperparameterSet
$changes = @(Compare-KohyaDatasetManifest -Reference $checkpoint -Difference $now)
$changes | Format-Table Change, Name, Reference, Difference | Out-Host

Write-Host '== Resuming refuses the change...' -ForegroundColor Cyan
try {
    Resume-KohyaTraining -Path $RunPath -Latest -AdditionalSteps $AdditionalSteps -ErrorAction Stop | Out-Null
    throw 'The changed dataset was not refused.'
}
catch { "Refused: $($_.FullyQualifiedErrorId) (exit code $LASTEXITCODE)" }

Write-Host '== ...until it is accepted, and then records it' -ForegroundColor Cyan
$result = Resume-KohyaTraining -Path $RunPath -Latest -AdditionalSteps $AdditionalSteps -AcceptDatasetChanges -WarningAction SilentlyContinue
"Trained to step $($result.FinalStep) ($($result.Status))"
$segment = (Get-KohyaCheckpoint -Path $RunPath -Latest).Lineage.Segments | Select-Object -Last 1
$segment.Overrides | Out-Host
