<#
.SYNOPSIS
    Interrupt a training and resume it: start the demo as a background job, ask it to stop (it finishes the
    step and saves), resume from the newest checkpoint to the target, and show that the step count went on.
.EXAMPLE
    ./examples/InterruptAndResume.ps1 -ModuleManifest ./module/KohyaPS.psd1 -MaxSteps 60 -InterruptAfter 20
#>
param(
    [string] $ModuleManifest = 'KohyaPS',
    [string] $RunPath = (Join-Path (Get-Location) 'interrupted-run'),
    [long] $MaxSteps = 60,
    # Interrupt once this many steps are in the loss log.
    [int] $InterruptAfter = 20,
    [int] $Resolution = 32
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest

if (Test-Path $RunPath) { Remove-Item $RunPath -Recurse -Force }
$hp = New-KohyaHyperparameterSet -Preset tiny
$hp.Data.Resolution = $Resolution
$hp.Data.BatchSize = 2
$hp.LRSchedule.WarmupSteps = 0

Write-Host "== Training in the background (target $MaxSteps)" -ForegroundColor Cyan
$job = $hp | Start-KohyaTraining -Demo -MaxSteps $MaxSteps -SaveEveryNSteps 1000 -OutputPath $RunPath
$log = Join-Path $RunPath 'logs/train.jsonl'
while ($job.State -eq 'Running' -and -not ((Test-Path $log) -and @(Get-Content $log).Count -ge $InterruptAfter)) { Start-Sleep -Milliseconds 200 }

Write-Host '== Interrupting: Stop-KohyaTraining (works from any process)' -ForegroundColor Cyan
Stop-KohyaTraining -Path $RunPath -Reason 'interrupt and resume example'
$first = $job | Wait-Job | Receive-Job -WarningAction SilentlyContinue
Remove-Job $job
"Stopped at step $($first.FinalStep) with status $($first.Status); the checkpoint saved there:"
Get-KohyaCheckpoint -Path $RunPath -Latest | Format-Table | Out-Host

Write-Host '== Resuming from the newest verified checkpoint' -ForegroundColor Cyan
$second = Get-KohyaCheckpoint -Path $RunPath -Latest | Test-KohyaCheckpoint | Resume-KohyaTraining
"Resumed from step $($second.StartStep) to $($second.FinalStep) (status $($second.Status))"
if ($second.FinalStep -ne $MaxSteps) { throw "The resumed run ended at $($second.FinalStep), not $MaxSteps." }
$steps = Get-Content $log | ForEach-Object { ($_ | ConvertFrom-Json).step }
"The loss log has steps $($steps[0])..$($steps[-1]), one line each: $(@($steps | Sort-Object -Unique).Count -eq $steps.Count)"
(Get-KohyaCheckpoint -Path $RunPath -Latest).Lineage.Segments | Format-Table StartStep, ResumedFrom, StartedUtc | Out-Host
