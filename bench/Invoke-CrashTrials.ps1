<#
.SYNOPSIS
    The kill -9 crash run: trains the tiny demo model in a child pwsh and SIGKILLs it at random moments
    (slow saves make many kills land inside a save), N times; after every kill every checkpoint must pass
    Test-KohyaCheckpoint, and the run resumed to its target must equal an uninterrupted run bit for bit.
.DESCRIPTION
    Writes a JSON summary (trials, kills, kills inside a save, checkpoints tested, corrupt, checkpoints compared
    with the uninterrupted reference, mismatches) that KohyaPS.Bench puts into the results file. Uses the
    process helpers of the Pester suite (tests/pester/KohyaTestHelpers.psm1).
.EXAMPLE
    ./bench/Invoke-CrashTrials.ps1 -ModuleManifest ./module/KohyaPS.psd1 -Trials 100 -SummaryPath ./out/crash.json
#>
param(
    [Parameter(Mandatory)][string] $ModuleManifest,
    [int] $Trials = 100,
    [string] $SummaryPath = (Join-Path ([IO.Path]::GetTempPath()) 'kohya-crash-summary.json'),
    [int] $Seed = 20261125
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$env:KOHYA_MODULE_MANIFEST = (Resolve-Path $ModuleManifest).Path
Import-Module (Join-Path $PSScriptRoot '../tests/pester/KohyaTestHelpers.psm1') -Force
Import-Module $env:KOHYA_MODULE_MANIFEST -Force

$work = [IO.Directory]::CreateTempSubdirectory('kohya-crash-').FullName
$clock = [Diagnostics.Stopwatch]::StartNew()
try {
    $target = [Math]::Max(40, 4 * $Trials)
    $config = New-KohyaTestConfig -Path (Join-Path $work 'crash.yaml') -SaveEvery 3 -AsyncSave 'true'
    $run = Join-Path $work 'run'
    $reference = Join-Path $work 'reference'
    Write-Host "==> uninterrupted reference run to step $target" -ForegroundColor Cyan
    $r = Invoke-KohyaChild "Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop; `$null = Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps $target -SaveEveryNSteps 3 -OutputPath '$reference' -ErrorAction Stop" -TimeoutSeconds 3600
    if ($r.ExitCode -ne 0) { throw "reference run failed:`n$($r.Output -join "`n")" }

    $random = [Random]::new($Seed)
    $valid = @{}; $kills = 0; $killsInSave = 0; $tested = 0; $corrupt = 0; $corruptNames = [Collections.Generic.List[string]]::new()
    for ($i = 0; $i -lt $Trials; $i++) {
        $started = (Test-Path $run) -and $null -ne (Get-KohyaCheckpoint -Path $run -Latest)
        $verb = if ($started) { "Resume-KohyaTraining -Path '$run' -Latest -MaxSteps $target" } else { "Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps $target -OutputPath '$run'" }
        $before = if (Test-Path "$run/logs/train.jsonl") { @(Get-Content "$run/logs/train.jsonl").Count } else { 0 }
        $proc = Start-KohyaChild -OutputPath "$work/trial.out" -Environment @{ KOHYAPS_FAULT_SAVE_DELAY_MS = 40 } -Script "Import-Module `$env:KOHYA_MODULE_MANIFEST; `$null = $verb"
        $null = Wait-KohyaLogLines -Run $run -Count ($before + $random.Next(1, 7)) -Process $proc
        if ($proc.HasExited) { Write-Warning "trial ${i}: the trainer exited before the kill (reached the target?)"; break }
        Start-Sleep -Milliseconds ($random.Next(0, 400))
        Send-Signal $proc.Id 'KILL'
        if (-not $proc.WaitForExit(30000)) { throw "trial ${i}: the killed process did not exit" }
        $kills++
        if (Get-ChildItem "$run/checkpoints" -Directory -Filter '.tmp-*' -Force -ErrorAction SilentlyContinue) { $killsInSave++ } # -Force: dot-names are hidden
        # Checkpoints already tested whole are not written again; test the new ones and check none vanished.
        $now = @(Get-KohyaCheckpoint -Path $run)
        foreach ($name in $valid.Keys) { if ($name -notin $now.Name) { $corrupt++; $corruptNames.Add("trial $i ${name}: disappeared") } }
        foreach ($t in $now | Where-Object { -not $valid.ContainsKey($_.Name) } | Test-KohyaCheckpoint) {
            $tested++
            if ($t.IsValid) { $valid[$t.Name] = $true }
            if (-not $t.IsValid) { $corrupt++; $corruptNames.Add("trial $i $($t.Name): $(($t.Checks | Where-Object Status -eq 'Fail' | ForEach-Object ErrorId) -join ',')") }
        }
        Write-Progress -Activity 'kill -9 crash trials' -Status "trial $($i + 1)/$Trials, kills $kills ($killsInSave inside a save), corrupt $corrupt" -PercentComplete (100 * ($i + 1) / $Trials)
    }
    Write-Progress -Activity 'kill -9 crash trials' -Completed

    Write-Host "==> resuming to step $target after $kills kills" -ForegroundColor Cyan
    $finish = Invoke-KohyaChild "Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop; `$r = Resume-KohyaTraining -Path '$run' -Latest -MaxSteps $target -ErrorAction Stop; `"FINAL=`$(`$r.FinalStep)`"" -TimeoutSeconds 3600
    $finalStep = ($finish.Output | Where-Object { $_ -like 'FINAL=*' }) -replace 'FINAL=', ''

    # Every step saved by both runs must hold the same tensors.
    $refByStep = @{}; Get-KohyaCheckpoint -Path $reference | ForEach-Object { $refByStep[$_.Step] = $_ }
    $compared = 0; $mismatches = 0; $mismatchNames = [Collections.Generic.List[string]]::new()
    foreach ($c in Get-KohyaCheckpoint -Path $run | Where-Object { $refByStep.ContainsKey($_.Step) }) {
        $compared++
        foreach ($file in 'model.safetensors', 'optimizer.safetensors') {
            if ((Get-SafetensorsDataHash (Join-Path $c.Path $file)) -ne (Get-SafetensorsDataHash (Join-Path $refByStep[$c.Step].Path $file))) {
                $mismatches++; $mismatchNames.Add("$($c.Name)/$file"); break
            }
        }
    }
    $summary = [ordered]@{
        trials = $Trials; kills = $kills; killsInsideSave = $killsInSave; checkpointsTested = $tested; corrupt = $corrupt
        corruptDetails = @($corruptNames); targetStep = $target; finalStep = [long]$finalStep; checkpointsCompared = $compared
        mismatches = $mismatches; mismatchDetails = @($mismatchNames); seconds = [Math]::Round($clock.Elapsed.TotalSeconds, 1)
    }
    $summary | ConvertTo-Json | Set-Content -Path $SummaryPath
    Write-Host ("crash trials: {0} kills ({1} inside a save), {2} checkpoint tests, {3} corrupt; {4} checkpoints compared with the reference, {5} mismatches; final step {6}/{7}; {8:0} s" -f
        $kills, $killsInSave, $tested, $corrupt, $compared, $mismatches, $finalStep, $target, $clock.Elapsed.TotalSeconds)
    if ($corrupt -gt 0 -or $mismatches -gt 0 -or [long]$finalStep -ne $target) { exit 1 }
}
finally {
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
