<#
.SYNOPSIS
    The README's first command: train the demo, interrupt it, resume it — on the embedded dataset, no downloads.
.DESCRIPTION
    1. Shows what the machine offers a run (Get-KohyaEnvironment).
    2. Starts training the 'tiny' UNet and its text encoder on the synthetic demo dataset (coloured
       shapes with captions, drawn on the spot) as a background job.
    3. Interrupts it part-way with Stop-Job: the trainer finishes its step and saves a checkpoint.
    4. Resumes from the newest checkpoint through the pipeline Get-KohyaCheckpoint | Resume-KohyaTraining
       and trains to the target, continuing the cumulative step count.
    5. Shows the checkpoints, the run's lineage, the loss and where the log and weights are.
#>
param(
    [Parameter(Mandatory)][string] $ModuleManifest,
    [string] $RunPath = (Join-Path (Get-Location) 'demo-run'),
    [long] $MaxSteps = 200,
    [long] $InterruptAt = 80,
    # 'tiny' keeps the demo to a few minutes on 2 cores; 'small' (-Preset small) learns more but takes ~5x longer.
    [string] $Preset = 'tiny'
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest

Write-Host "`n== 1. The machine" -ForegroundColor Cyan
Get-KohyaEnvironment | Format-Table | Out-Host

if (Test-Path $RunPath) { Remove-Item $RunPath -Recurse -Force }
Write-Host "== 2. Training the demo in the background: $RunPath (target $MaxSteps steps)" -ForegroundColor Cyan
$job = Start-KohyaTraining -Demo -Preset $Preset -MaxSteps $MaxSteps -SaveEveryNSteps 40 -OutputPath $RunPath
$log = Join-Path $RunPath 'logs/train.jsonl'
while ($job.State -eq 'Running' -and -not ((Test-Path $log) -and @(Get-Content $log).Count -ge $InterruptAt)) {
    Start-Sleep -Milliseconds 500
    if (Test-Path $log) { Write-Progress -Activity 'Demo training (job)' -Status "step $(@(Get-Content $log).Count) of $MaxSteps; interrupting at $InterruptAt" -PercentComplete ([Math]::Min(100, 100 * @(Get-Content $log).Count / $MaxSteps)) }
}
Write-Progress -Activity 'Demo training (job)' -Completed

Write-Host "== 3. Interrupting it (Stop-Job: finish the step, save, stop)" -ForegroundColor Cyan
Stop-Job $job
$first = Receive-Job $job
Remove-Job $job
"Stopped at step $($first.FinalStep) (status $($first.Status)); loss {0:0.0000} -> {1:0.0000}" -f $first.InitialLoss, $first.FinalLoss | Out-Host
Get-KohyaCheckpoint -Path $RunPath | Format-Table | Out-Host

Write-Host "== 4. Resuming: Get-KohyaCheckpoint -Latest | Resume-KohyaTraining" -ForegroundColor Cyan
$result = Get-KohyaCheckpoint -Path $RunPath -Latest | Resume-KohyaTraining
$result | Format-List | Out-Host

Write-Host "== 5. The run" -ForegroundColor Cyan
$latest = Get-KohyaCheckpoint -Path $RunPath -Latest
$latest.Lineage.Segments | Format-Table StartStep, ResumedFrom, StartedUtc | Out-Host
"Loss log : $($result.LogPath)" | Out-Host
"Weights  : $(Join-Path $latest.Path 'model.safetensors')" | Out-Host
"Resume it further any time with: Resume-KohyaTraining -Path '$RunPath' -Latest -AdditionalSteps 100" | Out-Host
