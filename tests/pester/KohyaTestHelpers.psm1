# Helpers shared by the Pester suites: where the built module is, and running a script in a fresh
# pwsh process (a clean session, a real process to signal, a real exit code).

function Get-KohyaTestManifest {
    if ($env:KOHYA_MODULE_MANIFEST) { return $env:KOHYA_MODULE_MANIFEST }
    Join-Path $PSScriptRoot '../../module/KohyaPS.psd1' | Resolve-Path | Select-Object -ExpandProperty Path
}

function Get-KohyaPwshCommand {
    # The real pwsh process (not the `dotnet pwsh` shim, which does not forward signals).
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if (Test-Path $dll) { return @('dotnet', $dll) }
    @((Join-Path $PSHOME 'pwsh'))
}

function Invoke-KohyaChild {
    <# Runs $Script in a fresh pwsh with the module manifest path in $env:KOHYA_MODULE_MANIFEST.
       Returns Output (string[]), ExitCode. #>
    param([Parameter(Mandatory)][string] $Script, [int] $TimeoutSeconds = 300)
    $cmd = Get-KohyaPwshCommand
    $file = Join-Path ([IO.Path]::GetTempPath()) ("kohya-child-{0}.ps1" -f [guid]::NewGuid().ToString('N'))
    Set-Content -Path $file -Value $Script
    try {
        $env:KOHYA_MODULE_MANIFEST = Get-KohyaTestManifest
        $env:NO_COLOR = '1'
        $rest = @($cmd | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $file)
        $output = & $cmd[0] @rest 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ Output = @($output); ExitCode = $LASTEXITCODE }
    }
    finally { Remove-Item $file -ErrorAction SilentlyContinue }
}

function Get-NuGetPackagePath([string] $Id, [string] $Version) {
    $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    Join-Path $cache "$($Id.ToLowerInvariant())/$Version"
}

function New-KohyaTestConfig {
    <# A fast configuration for end-to-end tests: tiny UNet, 16 px demo images, batch 4, 2 threads. #>
    param([Parameter(Mandatory)][string] $Path, [int] $SaveEvery = 5, [string] $AsyncSave = 'false', [string] $Extra = '')
    @"
Model:
  Preset: tiny
  MaxTokens: 12
Data:
  Resolution: 16
  BatchSize: 4
Resources:
  Threads: 2
Saving:
  SaveEveryNSteps: $SaveEvery
  AsyncSave: $AsyncSave
$Extra
"@ | Set-Content -Path $Path
    $Path
}

function Start-KohyaChild {
    <# Starts $Script in a fresh pwsh in the background; returns the Process (its Id is the real pwsh, so
       signals reach it) with output going to $OutputPath. #>
    param([Parameter(Mandatory)][string] $Script, [Parameter(Mandatory)][string] $OutputPath, [hashtable] $Environment = @{})
    $cmd = Get-KohyaPwshCommand
    $file = Join-Path ([IO.Path]::GetTempPath()) ("kohya-bg-{0}.ps1" -f [guid]::NewGuid().ToString('N'))
    Set-Content -Path $file -Value $Script
    $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
    $inner = (@($cmd) + @('-NoProfile', '-NonInteractive', '-File', $file) | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' '
    $psi.ArgumentList.Add('-c')
    $psi.ArgumentList.Add("exec $inner > '$OutputPath' 2>&1")
    $psi.UseShellExecute = $false
    $psi.Environment['KOHYA_MODULE_MANIFEST'] = Get-KohyaTestManifest
    $psi.Environment['NO_COLOR'] = '1'
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = "$($Environment[$k])" }
    Set-Content -Path $OutputPath -Value '' # exists from the start, so a failure to launch is readable too
    [System.Diagnostics.Process]::Start($psi)
}

function Wait-KohyaLogLines {
    <# Waits until the run's train.jsonl has at least $Count lines; returns the count (0 on timeout). #>
    param([Parameter(Mandatory)][string] $Run, [int] $Count = 1, [int] $TimeoutSeconds = 180, [System.Diagnostics.Process] $Process)
    $log = Join-Path $Run 'logs/train.jsonl'
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([DateTime]::UtcNow -lt $deadline) {
        if (Test-Path $log) {
            $n = @(Get-Content $log).Count
            if ($n -ge $Count) { return $n }
        }
        if ($Process -and $Process.HasExited) { return 0 }
        Start-Sleep -Milliseconds 100
    }
    0
}

function Get-KohyaLastLoggedStep([string] $Run) {
    $last = Get-Content (Join-Path $Run 'logs/train.jsonl') | Where-Object { $_ -match '^\{.*\}$' } | Select-Object -Last 1
    ($last | ConvertFrom-Json).step
}

function Get-SafetensorsDataHash([string] $Path) {
    <# SHA-256 of the bytes after the header: equal for equal tensors whatever the metadata says. #>
    $bytes = [IO.File]::ReadAllBytes($Path)
    $n = [BitConverter]::ToUInt64($bytes, 0)
    $start = 8 + [int]$n
    $sha = [Security.Cryptography.SHA256]::Create()
    try { [Convert]::ToHexString($sha.ComputeHash($bytes, $start, $bytes.Length - $start)) } finally { $sha.Dispose() }
}

function Start-KohyaChildInTerminal {
    <# Starts $Script in a fresh pwsh inside a tmux terminal session, so that Send-KohyaCtrlC types a real
       Ctrl+C as a user would. Returns the session name; output goes to $OutputPath, then "EXIT=<code>". #>
    param([Parameter(Mandatory)][string] $Script, [Parameter(Mandatory)][string] $OutputPath)
    $file = Join-Path ([IO.Path]::GetTempPath()) ("kohya-tty-{0}.ps1" -f [guid]::NewGuid().ToString('N'))
    Set-Content -Path $file -Value $Script
    $session = 'kohya' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $cmd = (@(Get-KohyaPwshCommand) + @('-NoProfile', '-File', $file) | ForEach-Object { "'$_'" }) -join ' '
    $env:KOHYA_MODULE_MANIFEST = Get-KohyaTestManifest
    & tmux new-session -d -s $session -x 200 -y 50 "NO_COLOR=1 $cmd > '$OutputPath' 2>&1; echo EXIT=`$? >> '$OutputPath'"
    if ($LASTEXITCODE -ne 0) { throw "tmux could not start a session" }
    $session
}

function Send-KohyaCtrlC([string] $Session) { & tmux send-keys -t $Session C-c }

function Send-Signal([int] $ProcessId, [string] $Signal) {
    & /bin/kill "-$Signal" $ProcessId
}

Export-ModuleMember -Function Get-KohyaTestManifest, Get-KohyaPwshCommand, Invoke-KohyaChild, Get-NuGetPackagePath, New-KohyaTestConfig,
    Start-KohyaChild, Start-KohyaChildInTerminal, Send-KohyaCtrlC, Wait-KohyaLogLines, Get-KohyaLastLoggedStep, Get-SafetensorsDataHash, Send-Signal
