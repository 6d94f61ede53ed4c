<#
.SYNOPSIS
    Validate a run with Pester: runs examples/Run.Tests.ps1 (checkpoint valid, loss below a limit, dataset
    unchanged) against a run folder with KohyaPS's Should operators. Trains a small demo run first when
    -RunPath does not exist.
.EXAMPLE
    ./examples/ValidateRun.ps1 -ModuleManifest ./module/KohyaPS.psd1 -PesterManifest ~/.nuget/packages/pester/5.7.1/tools/Pester.psd1
.EXAMPLE
    ./examples/ValidateRun.ps1 -RunPath D:\runs\cat -LossBelow 0.15 -AfterStep 2000
#>
param(
    [string] $ModuleManifest = 'KohyaPS',
    # Pester 5 to use; default: Pester from PSModulePath.
    [string] $PesterManifest = 'Pester',
    [string] $RunPath = (Join-Path (Get-Location) 'validated-run'),
    [double] $LossBelow = 10,
    [long] $AfterStep = 0,
    [long] $MaxSteps = 6,
    [int] $Resolution = 32
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -MinimumVersion 5.0
Import-Module $ModuleManifest   # after Pester: the Should operators register themselves

if (-not (Test-Path $RunPath)) {
    $hp = New-KohyaHyperparameterSet -Preset tiny
    $hp.Data.Resolution = $Resolution
    $hp.Data.BatchSize = 2
    $hp.LRSchedule.WarmupSteps = 0
    $hp | Invoke-KohyaTraining -Demo -MaxSteps $MaxSteps -SaveEveryNSteps $MaxSteps -OutputPath $RunPath | Out-Null
}

$container = New-PesterContainer -Path (Join-Path $PSScriptRoot 'Run.Tests.ps1') -Data @{ RunPath = $RunPath; LossBelow = $LossBelow; AfterStep = $AfterStep }
$config = New-PesterConfiguration
$config.Run.Container = $container
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$result = Invoke-Pester -Configuration $config
"Validation: $($result.PassedCount) passed, $($result.FailedCount) failed"
exit $result.FailedCount
