#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs the KohyaPS benchmarks and prints ratios measured side by side in the same run.
.DESCRIPTION
    Builds bench/KohyaPS.Bench and runs it: the engine's training step against a bare TorchSharp loop and a PyTorch
    peer (bench/peer/unet_step.py on Debian's python3-torch), GFLOP/s against a matmul ceiling, checkpoint
    save/load against dd and plain reads, saving overhead, resume time, module import time, SHA-256 against
    openssl, and RSS growth. Prints a table and writes bench/results/<yyyy-MM-dd>[-quick|-long].md.
    build.ps1 Bench calls this in a fresh pwsh after building the module.
.PARAMETER ModuleManifest
    The built module's KohyaPS.psd1 (module/KohyaPS.psd1), for the import-time figure.
.PARAMETER InstallPeers
    apt-get install python3-torch when no Python with torch is found.
.PARAMETER Quick
    About a minute: tiny 32² only, short runs.
.PARAMETER Long
    Every model at 32² and 64² with the peer, 1000-step runs (tens of minutes: a PyTorch 64² step takes minutes).
.PARAMETER OmpWaitPolicy
    OMP_WAIT_POLICY for the bench and the peer. PASSIVE (default) makes OpenMP threads sleep at barriers instead
    of spinning: on a machine shared with other work, libtorch's spinning threads at 2 threads made steps 10-30x
    slower and the figures meaningless. Both sides of every comparison run under the same policy. 'Unset' leaves
    the environment as it is.
.PARAMETER CrashTrials
    Trials of the kill -9 crash run (bench/Invoke-CrashTrials.ps1, figure 9; needs -ModuleManifest): 10 with -Quick,
    100 by default, 300 with -Long; 0 skips it.
.PARAMETER WaitForIdleSeconds
    Before starting, wait up to this long for other processes to go below 25% of the CPUs (0: start at once).
.EXAMPLE
    ./bench/Invoke-Benchmarks.ps1 -ModuleManifest ./module/KohyaPS.psd1 -InstallPeers
#>
[CmdletBinding()]
param(
    [string] $ModuleManifest,
    [switch] $InstallPeers,
    [switch] $Quick,
    [switch] $Long,
    [ValidateSet('PASSIVE', 'ACTIVE', 'Unset')]
    [string] $OmpWaitPolicy = 'PASSIVE',
    [int] $WaitForIdleSeconds = 120,
    # kill -9 trials of the crash run (figure 9); default 10 with -Quick, 100 otherwise, 300 with -Long; 0 skips it.
    [int] $CrashTrials = -1,
    [string] $ResultsPath = (Join-Path $PSScriptRoot 'results'),
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
if ($Quick -and $Long) { throw 'Choose -Quick or -Long, not both.' }
$mode = if ($Quick) { 'quick' } elseif ($Long) { 'long' } else { 'normal' }

function Test-Torch([string] $Python) {
    if (-not $Python -or -not (Get-Command $Python -ErrorAction SilentlyContinue)) { return $false }
    & $Python -c 'import torch' 2>$null | Out-Null
    return $LASTEXITCODE -eq 0
}

function Find-PeerPython {
    # Debian's interpreter first: python3-torch installs for /usr/bin/python3, not for a pyenv or venv python3.
    foreach ($candidate in @('/usr/bin/python3', 'python3')) {
        if (Test-Torch $candidate) { return (Get-Command $candidate).Source }
    }
    return $null
}

$peerNote = $null
$python = Find-PeerPython
if (-not $python -and $InstallPeers) {
    if ($IsLinux -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Write-Host '==> apt-get install -y python3-torch (PyTorch peer)' -ForegroundColor Cyan
        $sudo = if ((& id -u) -ne '0' -and (Get-Command sudo -ErrorAction SilentlyContinue)) { @('sudo') } else { @() }
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & @sudo apt-get install -y -q python3-torch
        if ($LASTEXITCODE -ne 0) {
            & @sudo apt-get update -q
            & @sudo apt-get install -y -q python3-torch
        }
        $python = Find-PeerPython
        if (-not $python) { $peerNote = 'apt-get install python3-torch did not give a Python that imports torch: PyTorch peer skipped' }
    }
    else {
        $peerNote = 'no apt-get here: install PyTorch for python3 yourself to get the PyTorch peer'
    }
}
elseif (-not $python) {
    $peerNote = 'no python3 that imports torch (run with -InstallPeers to apt-get install python3-torch): PyTorch peer skipped'
}
if ($peerNote) { Write-Warning $peerNote }

$project = Join-Path $PSScriptRoot 'KohyaPS.Bench/KohyaPS.Bench.csproj'
Write-Host "==> build $project" -ForegroundColor Cyan
& dotnet build $project -c $Configuration --nologo -v minimal
if ($LASTEXITCODE -ne 0) { throw "Building the bench failed (exit code $LASTEXITCODE)." }
$benchDll = Get-ChildItem (Join-Path $PSScriptRoot "KohyaPS.Bench/bin/$Configuration") -Recurse -Filter 'KohyaPS.Bench.dll' |
    Sort-Object LastWriteTime -Descending | Select-Object -First 1
if (-not $benchDll) { throw 'KohyaPS.Bench.dll not found after the build.' }

$arguments = @('--mode', $mode, '--results', $ResultsPath, '--wait-for-idle', $WaitForIdleSeconds)
if ($python) { $arguments += @('--python', $python, '--peer-script', (Join-Path $PSScriptRoot 'peer/unet_step.py')) }
elseif ($peerNote) { $arguments += @('--peer-note', $peerNote) }
$pwshDll = Join-Path $PSHOME 'pwsh.dll'
$pwsh = if (Test-Path $pwshDll) { $pwshDll } else { Join-Path $PSHOME 'pwsh' }
if ($ModuleManifest) {
    $arguments += @('--pwsh', $pwsh, '--manifest', (Resolve-Path $ModuleManifest).Path)
}
else {
    Write-Warning 'No -ModuleManifest: the module import time is not measured.'
}

if ($CrashTrials -lt 0) { $CrashTrials = switch ($mode) { 'quick' { 10 } 'long' { 300 } default { 100 } } }
if ($ModuleManifest -and $CrashTrials -gt 0) {
    Write-Host "==> kill -9 crash run: $CrashTrials trials (figure 9)" -ForegroundColor Cyan
    $crashSummary = Join-Path ([IO.Path]::GetTempPath()) "kohya-crash-$PID.json"
    & (Join-Path $PSScriptRoot 'Invoke-CrashTrials.ps1') -ModuleManifest $ModuleManifest -Trials $CrashTrials -SummaryPath $crashSummary
    if (Test-Path $crashSummary) { $arguments += @('--crash-summary', $crashSummary) }
}

if ($ModuleManifest) {
    $count = switch ($mode) { 'quick' { 32 } 'long' { 256 } default { 128 } }
    Write-Host "==> dataset manifest hashing vs openssl: $count images of 1024² (figure 10)" -ForegroundColor Cyan
    $hashSummary = Join-Path ([IO.Path]::GetTempPath()) "kohya-dataset-hash-$PID.json"
    try {
        & (Join-Path $PSScriptRoot 'Measure-DatasetHashing.ps1') -ModuleManifest $ModuleManifest -Count $count -Size 1024 -Rounds 5 -Force -SummaryPath $hashSummary
        if (Test-Path $hashSummary) { $arguments += @('--dataset-hash-summary', $hashSummary) }
    }
    catch { Write-Warning "dataset hashing benchmark failed: $_" }
}

if ($OmpWaitPolicy -ne 'Unset') { $env:OMP_WAIT_POLICY = $OmpWaitPolicy }
Write-Host "==> KohyaPS.Bench ($mode)" -ForegroundColor Cyan
& dotnet $benchDll.FullName @arguments
exit $LASTEXITCODE
