<#
.SYNOPSIS
    Runs the Pester suite (tests/pester) against a built module in this fresh process and writes a
    JSON summary (Passed, Failed, Skipped) for build.ps1. Exit code: the number of failed tests.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModuleManifest,
    [Parameter(Mandatory)][string] $PesterManifest,
    [Parameter(Mandatory)][string] $SummaryPath,
    [string] $Filter
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force
$env:KOHYA_MODULE_MANIFEST = (Resolve-Path $ModuleManifest).Path
$config = New-PesterConfiguration
$config.Run.Path = Join-Path $PSScriptRoot 'pester'
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
if ($env:CI -or [Console]::IsOutputRedirected) { $config.Output.RenderMode = 'Plaintext' }
if ($Filter) { $config.Filter.FullName = "*$Filter*" }
$result = Invoke-Pester -Configuration $config
[ordered]@{ Passed = $result.PassedCount; Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount; Skipped = $result.SkippedCount } |
    ConvertTo-Json | Set-Content -Path $SummaryPath
exit ($result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount)
