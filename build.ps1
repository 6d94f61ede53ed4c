#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, demonstrates, benchmarks and packages KohyaPS.
.DESCRIPTION
    Tasks (positional):  Build | Test | Demo | Bench | Package
      Build    publishes the engine (with native libtorch) to module/dependencies, the cmdlets to module/,
               stamps the manifest and compiles help into MAML.
      Test     Build, then xunit, then Pester in a fresh pwsh against module/; prints "N passed, N failed".
      Demo     Build, then the demo (train, interrupt, resume) in a fresh pwsh.
      Bench    Build, then every benchmark under bench/.
      Package  Build, then a zip of module/ under out/.
    Run through the repository's dotnet tool manifest:  dotnet tool restore && dotnet pwsh ./build.ps1 Test
.EXAMPLE
    ./build.ps1 Build -Backend Cuda     # Windows GPU box: TorchSharp-cuda-windows instead of CPU libtorch
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package')]
    [string] $Task = 'Build',

    [ValidateSet('Cpu', 'Cuda')]
    [string] $Backend = 'Cpu',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Bench: apt-install Debian's python3-torch as the PyTorch peer when it is missing.
    [switch] $InstallPeers,

    # Test: run only the tests whose names match (xunit --filter expression / Pester -FullName pattern).
    [string] $Filter
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$Root = $PSScriptRoot
$ModuleDir = Join-Path $Root 'module'
$OutDir = Join-Path $Root 'out'

function Invoke-Native([string] $What, [scriptblock] $Command) {
    Write-Host "==> $What" -ForegroundColor Cyan
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)" }
}

function Get-Rid {
    if ($IsWindows) { 'win-x64' } elseif ($IsMacOS) { 'osx-arm64' } else { 'linux-x64' }
}

function Get-ModuleVersion {
    (Import-PowerShellDataFile (Join-Path $Root 'KohyaPS.psd1')).ModuleVersion
}

function Invoke-ChildPwsh([string[]] $Arguments) {
    # A fresh process: the build session never loads the module, so rebuilding never fights a lock.
    $pwshDll = Join-Path $PSHOME 'pwsh.dll'
    if (Test-Path $pwshDll) { & dotnet $pwshDll -NoProfile -NonInteractive @Arguments }
    else { & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive @Arguments }
}

function Invoke-Build {
    if ($Backend -eq 'Cuda' -and -not $IsWindows) {
        throw 'The CUDA build uses TorchSharp-cuda-windows and is Windows-only; build with -Backend Cpu here.'
    }
    $version = Get-ModuleVersion
    $rid = Get-Rid
    $common = @("-c", $Configuration, "-p:Version=$version", "-p:KohyaBackend=$Backend", '--nologo', '-v', 'minimal')
    New-Item -ItemType Directory -Force -Path $ModuleDir | Out-Null
    Invoke-Native 'publish engine -> module/dependencies' {
        dotnet publish (Join-Path $Root 'src/KohyaPS/KohyaPS.Engine/KohyaPS.Engine.csproj') @common -r $rid --self-contained false -o (Join-Path $ModuleDir 'dependencies')
    }
    Invoke-Native 'publish cmdlets -> module' {
        dotnet publish (Join-Path $Root 'src/KohyaPS/KohyaPS.Commands/KohyaPS.Commands.csproj') @common -o $ModuleDir
    }
    # The cmdlet assembly's deps.json would only mislead: pwsh ignores it and the engine is not beside it.
    Remove-Item (Join-Path $ModuleDir 'KohyaPS.deps.json') -ErrorAction SilentlyContinue
    Copy-Item (Join-Path $Root 'KohyaPS.psd1') $ModuleDir -Force
    # The Pester assertions: a script module nested in the manifest (it calls the cmdlets, never the engine).
    Copy-Item (Join-Path $Root 'src/KohyaPS/Assertions/KohyaPS.Assertions.psm1') $ModuleDir -Force
    Invoke-Native 'compile help (markdown -> MAML)' {
        Invoke-ChildPwsh @('-File', (Join-Path $Root 'tools/New-KohyaMamlHelp.ps1'), '-ModuleManifest', (Join-Path $ModuleDir 'KohyaPS.psd1'),
            '-HelpSource', (Join-Path $Root 'help'), '-OutputDirectory', (Join-Path $ModuleDir 'en-US'))
    }
    Write-Host "Module built: $ModuleDir (version $version, backend $Backend)" -ForegroundColor Green
}

function Get-PackagePath([string] $Id, [string] $Version) {
    $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    Join-Path $cache "$($Id.ToLowerInvariant())/$Version"
}

function Invoke-Test {
    $results = Join-Path $OutDir 'test-results'
    Remove-Item $results -Recurse -Force -ErrorAction SilentlyContinue
    New-Item -ItemType Directory -Force -Path $results | Out-Null

    Write-Host '==> xunit' -ForegroundColor Cyan
    $xunitArgs = @('test', (Join-Path $Root 'tests/KohyaPS.Tests/KohyaPS.Tests.csproj'), '-c', $Configuration, '--nologo',
        '--logger', 'trx;LogFileName=xunit.trx', '--logger', 'console;verbosity=minimal', '--results-directory', $results)
    if ($Filter) { $xunitArgs += @('--filter', $Filter) }
    & dotnet @xunitArgs
    $xunitExit = $LASTEXITCODE
    $trxFile = Join-Path $results 'xunit.trx'
    $xPassed = 0; $xFailed = 0
    if (Test-Path $trxFile) {
        $counters = ([xml](Get-Content -Raw $trxFile)).TestRun.ResultSummary.Counters
        $xPassed = [int]$counters.passed; $xFailed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout
    }
    if ($xunitExit -ne 0 -and $xFailed -eq 0) { $xFailed = 1; Write-Warning "xunit exited with $xunitExit without a failed-test count (build or host failure)." }

    Invoke-Native 'restore test tools (Pester, YamlDotNet 16.3.0)' { dotnet restore (Join-Path $Root 'tests/tools/TestTools.csproj') --nologo -v minimal }
    Write-Host '==> Pester (fresh pwsh, module from module/)' -ForegroundColor Cyan
    $summary = Join-Path $results 'pester-summary.json'
    $pesterArgs = @('-File', (Join-Path $Root 'tests/Invoke-PesterSuite.ps1'), '-ModuleManifest', (Join-Path $ModuleDir 'KohyaPS.psd1'),
        '-PesterManifest', (Join-Path (Get-PackagePath 'Pester' '5.7.1') 'tools/Pester.psd1'), '-SummaryPath', $summary)
    if ($Filter) { $pesterArgs += @('-Filter', $Filter) }
    Invoke-ChildPwsh $pesterArgs
    $pPassed = 0; $pFailed = 0
    if (Test-Path $summary) {
        $p = Get-Content -Raw $summary | ConvertFrom-Json
        $pPassed = [int]$p.Passed; $pFailed = [int]$p.Failed
    }
    else { $pFailed = 1; Write-Warning 'Pester wrote no summary (the run itself failed).' }

    Write-Host ("xunit: {0} passed, {1} failed; Pester: {2} passed, {3} failed" -f $xPassed, $xFailed, $pPassed, $pFailed)
    Write-Host ("{0} passed, {1} failed" -f ($xPassed + $pPassed), ($xFailed + $pFailed))
    if ($xFailed + $pFailed -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Native 'demo' { Invoke-ChildPwsh @('-File', (Join-Path $Root 'examples/Demo.ps1'), '-ModuleManifest', (Join-Path $ModuleDir 'KohyaPS.psd1')) }
}

function Invoke-Bench {
    $runner = Join-Path $Root 'bench/Invoke-Benchmarks.ps1'
    $benchArgs = @('-File', $runner, '-ModuleManifest', (Join-Path $ModuleDir 'KohyaPS.psd1'))
    if ($InstallPeers) { $benchArgs += '-InstallPeers' }
    Invoke-Native 'benchmarks' { Invoke-ChildPwsh $benchArgs }
}

function Invoke-Package {
    New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
    $zip = Join-Path $OutDir ("KohyaPS-{0}-{1}-{2}.zip" -f (Get-ModuleVersion), (Get-Rid), $Backend.ToLowerInvariant())
    Remove-Item $zip -ErrorAction SilentlyContinue
    Compress-Archive -Path (Join-Path $ModuleDir '*') -DestinationPath $zip -CompressionLevel Fastest
    Write-Host "Package: $zip"
}

Invoke-Build
switch ($Task) {
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package }
}
