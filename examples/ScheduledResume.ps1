<#
.SYNOPSIS
    Resume from a scheduled task: show the task that Register-KohyaTrainingTask would register (-WhatIf), then
    run the very command it runs, the way a scheduler does (a fresh non-interactive pwsh, no shell), and read
    its exit code and the run log.
.DESCRIPTION
    Leave out -WhatIf on Register-KohyaTrainingTask to register it for real (Windows: an elevated pwsh for
    AtStartup). Exit codes: 0 at the target or already complete, 10 locked, 11 nothing to resume, 12 invalid
    checkpoint, 13/14 refused hyperparameter/dataset change, 15 stopped, 1 other (about_KohyaPS).
.EXAMPLE
    ./examples/ScheduledResume.ps1 -ModuleManifest ./module/KohyaPS.psd1
#>
param(
    [string] $ModuleManifest = 'KohyaPS',
    [string] $RunPath = (Join-Path (Get-Location) 'scheduled-run'),
    # The first session is stopped after this many steps; the scheduled command trains the rest to MaxSteps.
    [long] $FirstSteps = 10,
    [long] $MaxSteps = 20,
    [int] $Resolution = 32
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest
$module = Join-Path (Get-Module KohyaPS).ModuleBase 'KohyaPS.psd1'

if (Test-Path $RunPath) { Remove-Item $RunPath -Recurse -Force }
$hp = New-KohyaHyperparameterSet -Preset tiny
$hp.Data.Resolution = $Resolution
$hp.Data.BatchSize = 2
$hp.LRSchedule.WarmupSteps = 0

Write-Host "== A first session, cut short after $FirstSteps of $MaxSteps steps" -ForegroundColor Cyan
$job = $hp | Start-KohyaTraining -Demo -MaxSteps $MaxSteps -SaveEveryNSteps 1000 -OutputPath $RunPath
$log = Join-Path $RunPath 'logs/train.jsonl'
while ($job.State -eq 'Running' -and -not ((Test-Path $log) -and @(Get-Content $log).Count -ge $FirstSteps)) { Start-Sleep -Milliseconds 200 }
Stop-KohyaTraining -Path $RunPath -Reason 'the machine is shutting down'
$first = $job | Wait-Job | Receive-Job -WarningAction SilentlyContinue
Remove-Job $job
"Saved at step $($first.FinalStep)"

Write-Host '== What would be registered (-WhatIf)' -ForegroundColor Cyan
Register-KohyaTrainingTask -Path $RunPath -Name example-resume -Trigger AtStartup -RestartOnFailure -WhatIf

Write-Host '== Running the task''s command as a scheduler does' -ForegroundColor Cyan
$pwsh = if (Test-Path (Join-Path $PSHOME 'pwsh.dll')) { @('dotnet', (Join-Path $PSHOME 'pwsh.dll')) } else { @((Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh'))) }
foreach ($attempt in 1, 2) {
    # The registered command, word for word (Get-KohyaTrainingTask shows it as Executable and Arguments).
    $command = "Import-Module '$($module -replace "'", "''")' -ErrorAction Stop; Resume-KohyaTraining -Path '$($RunPath -replace "'", "''")' -Latest; exit `$LASTEXITCODE"
    $rest = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $command)
    & $pwsh[0] @rest | Out-Null
    $code = $LASTEXITCODE
    "Run $attempt exited with $code ($([KohyaPS.Contracts.KohyaExitCode]$code))"
    if ($code -ne 0) { throw "The scheduled resume failed with exit code $code." }
}

Write-Host '== The run log: one line per start, resume, stop or failure' -ForegroundColor Cyan
Get-Content (Join-Path $RunPath 'logs/kohyaps.log') | Out-Host
$step = (Get-KohyaCheckpoint -Path $RunPath -Latest).Step
"Step now: $step"
if ($step -ne $MaxSteps) { throw "The scheduled resume ended at step $step, not $MaxSteps." }
