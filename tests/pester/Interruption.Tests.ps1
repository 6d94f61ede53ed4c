# Interrupting real training processes: Ctrl+C, SIGTERM, Stop-KohyaTraining, a second trainer on the
# same folder, and SIGKILL at random moments (including in the middle of slow saves). After every
# interruption the newest checkpoint must be whole, and the run resumed to its target must equal an
# uninterrupted run bit for bit.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    Import-Module (Get-KohyaTestManifest) -Force

    function script:Start-LongTraining([string] $Run, [string] $Config, [hashtable] $Environment = @{}) {
        Start-KohyaChild -OutputPath "$Run.out" -Environment $Environment -Script @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$r = Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 100000 -OutputPath '$Run'
"STATUS=`$(`$r.Status) FINAL=`$(`$r.FinalStep)"
"@
    }

    function script:Assert-CheckpointsWhole([string] $Run) {
        foreach ($c in Get-KohyaCheckpoint -Path $Run -All | Where-Object { -not $_.IsQuarantined }) {
            if ($c.Name.StartsWith('.tmp-')) { continue } # an interrupted save's folder: cleaned by the next start
            $c.IsComplete | Should -BeTrue -Because "$($c.Name) is listed as a checkpoint"
            Push-Location $c.Path
            try { & sha256sum -c --quiet checksums.sha256; $LASTEXITCODE | Should -Be 0 -Because "$($c.Name) must verify" }
            finally { Pop-Location }
        }
    }
}

Describe 'Interrupting a training' {
    BeforeEach {
        $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-int-').FullName
        $script:Config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml') -SaveEvery 0
        $script:Run = Join-Path $Dir 'run'
    }
    AfterEach {
        if ($script:Proc -and -not $script:Proc.HasExited) { $script:Proc.Kill() }
        Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'Ctrl+C typed in the terminal finishes the step, saves a checkpoint at the step reached and stops' {
        $session = Start-KohyaChildInTerminal -OutputPath "$Run.out" -Script @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 100000 -OutputPath '$Run'
"@
        try {
            Wait-KohyaLogLines -Run $Run -Count 3 | Should -BeGreaterOrEqual 3
            Send-KohyaCtrlC $session
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while (-not ((Test-Path "$Run.out") -and (Get-Content "$Run.out" -Raw) -match 'EXIT=') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        }
        finally { & tmux kill-session -t $session 2>$null }
        $output = Get-Content "$Run.out" -Raw
        $last = Get-KohyaLastLoggedStep $Run
        $latest = Get-KohyaCheckpoint -Path $Run -Latest
        $latest.Step | Should -Be $last -Because $output
        $latest.IsComplete | Should -BeTrue
        Assert-CheckpointsWhole $Run
    }

    It 'SIGTERM finishes the step, saves a checkpoint at the step reached and exits' {
        $script:Proc = Start-LongTraining $Run $Config
        $lines = Wait-KohyaLogLines -Run $Run -Count 3 -Process $Proc
        $lines | Should -BeGreaterOrEqual 3 -Because "the child should train (exited: $($Proc.HasExited), output: $(Get-Content "$Run.out" -Raw))"
        Send-Signal $Proc.Id 'TERM'
        $Proc.WaitForExit(120000) | Should -BeTrue
        $last = Get-KohyaLastLoggedStep $Run
        $latest = Get-KohyaCheckpoint -Path $Run -Latest
        $latest.Step | Should -Be $last
        $latest.IsComplete | Should -BeTrue
        Assert-CheckpointsWhole $Run
    }

    It 'refuses a second trainer on the same folder, naming the holder; Stop-KohyaTraining stops the first with a checkpoint' {
        $script:Proc = Start-LongTraining $Run $Config
        Wait-KohyaLogLines -Run $Run -Count 2 -Process $Proc | Should -BeGreaterOrEqual 2
        $second = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
try { Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 5 -OutputPath '$Run' -ErrorAction Stop } catch { "ERRORID=`$(`$_.FullyQualifiedErrorId) MSG=`$(`$_.Exception.Message)" }
try { Resume-KohyaTraining -Path '$Run' -Latest -ErrorAction Stop } catch { "ERRORID=`$(`$_.FullyQualifiedErrorId) MSG=`$(`$_.Exception.Message)" }
"@
        $errors = @($second.Output | Where-Object { $_ -like 'ERRORID=*' })
        $errors.Count | Should -Be 2 -Because ($second.Output -join "`n")
        $errors | ForEach-Object { $_ | Should -Match '^ERRORID=RunLocked,' ; $_ | Should -Match "pid $($Proc.Id) on " }

        Stop-KohyaTraining -Path $Run
        $Proc.WaitForExit(120000) | Should -BeTrue
        (Get-Content "$Run.out" -Raw) | Should -Match 'STATUS=Stopped'
        (Get-KohyaCheckpoint -Path $Run -Latest).Step | Should -Be (Get-KohyaLastLoggedStep $Run)
        Test-Path (Join-Path $Run 'stop.request') | Should -BeFalse
    }

    It 'survives SIGKILL at random moments, during saves too: every checkpoint stays whole and the resumed run equals an uninterrupted one bit for bit' {
        $trials = if ($env:KOHYA_CRASH_TRIALS) { [int]$env:KOHYA_CRASH_TRIALS } else { 10 }
        $target = 40
        $config = New-KohyaTestConfig -Path (Join-Path $Dir 'crash.yaml') -SaveEvery 3 -AsyncSave 'true'
        $reference = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$null = Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps $target -OutputPath '$Dir/reference' -ErrorAction Stop
"@
        $reference.ExitCode | Should -Be 0 -Because ($reference.Output -join "`n")

        $random = [Random]::new(20261125)
        $slowSaves = @{ KOHYAPS_FAULT_SAVE_DELAY_MS = 40 }
        $kills = 0
        for ($i = 0; $i -lt $trials; $i++) {
            $started = (Test-Path $Run) -and $null -ne (Get-KohyaCheckpoint -Path $Run -Latest)
            $verb = if ($started) { "Resume-KohyaTraining -Path '$Run' -Latest -MaxSteps $target" } else { "Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps $target -OutputPath '$Run'" }
            $before = if (Test-Path "$Run/logs/train.jsonl") { @(Get-Content "$Run/logs/train.jsonl").Count } else { 0 }
            $script:Proc = Start-KohyaChild -OutputPath "$Run.$i.out" -Environment $slowSaves -Script "Import-Module `$env:KOHYA_MODULE_MANIFEST; `$null = $verb"
            # Let it train 1-6 more steps (saves come every 3), then kill at a random moment inside a step or a save.
            $null = Wait-KohyaLogLines -Run $Run -Count ($before + $random.Next(1, 7)) -Process $Proc
            if ($Proc.HasExited) { break }
            Start-Sleep -Milliseconds ($random.Next(0, 400))
            Send-Signal $Proc.Id 'KILL'
            $Proc.WaitForExit(30000) | Should -BeTrue
            $kills++
            Assert-CheckpointsWhole $Run
        }
        $kills | Should -BeGreaterThan 0

        $verb = if ($null -ne (Get-KohyaCheckpoint -Path $Run -Latest)) { "Resume-KohyaTraining -Path '$Run' -Latest -MaxSteps $target" } else { "Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps $target -OutputPath '$Run'" }
        $finish = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$r = $verb -ErrorAction Stop
"FINAL=`$(`$r.FinalStep)"
"@
        $finish.ExitCode | Should -Be 0 -Because ($finish.Output -join "`n")
        $finish.Output | Should -Contain "FINAL=$target"
        Assert-CheckpointsWhole $Run

        $ref = Get-KohyaCheckpoint -Path "$Dir/reference" -Latest
        $got = Get-KohyaCheckpoint -Path $Run -Latest
        $got.Step | Should -Be $target
        foreach ($file in 'model.safetensors', 'optimizer.safetensors') {
            Get-SafetensorsDataHash (Join-Path $got.Path $file) | Should -Be (Get-SafetensorsDataHash (Join-Path $ref.Path $file)) -Because "$file after $kills kills"
        }
        $got.Lineage.Segments.Count | Should -BeGreaterThan 1
    }
}
