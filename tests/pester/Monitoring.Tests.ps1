# Loss monitoring end to end against the built module: Watch-KohyaTraining following a real training job (and
# stopped by Ctrl+C's path without stopping the training), Get-KohyaTrainingLog stitching a run killed with SIGKILL
# and resumed, Export-KohyaLossPlot writing a real PNG, and the error ids of each command.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    Import-Module (Get-KohyaTestManifest) -Force

    function script:Get-PngSize([string] $Path) {
        $bytes = [IO.File]::ReadAllBytes($Path)
        [Convert]::ToHexString($bytes, 0, 8) | Should -Be '89504E470D0A1A0A'
        [Text.Encoding]::ASCII.GetString($bytes, 12, 4) | Should -Be 'IHDR'
        $w = ([int]$bytes[16] -shl 24) -bor ([int]$bytes[17] -shl 16) -bor ([int]$bytes[18] -shl 8) -bor $bytes[19]
        $h = ([int]$bytes[20] -shl 24) -bor ([int]$bytes[21] -shl 16) -bor ([int]$bytes[22] -shl 8) -bor $bytes[23]
        "${w}x${h}"
    }
}

Describe 'Monitoring a training' {
    BeforeEach {
        $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-mon-').FullName
        $script:Config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml') -SaveEvery 2
        $script:Run = Join-Path $Dir 'run'
    }
    AfterEach {
        Get-Job | Where-Object Name -like 'Kohya:*' | Remove-Job -Force -ErrorAction SilentlyContinue
        if ($script:Proc -and -not $script:Proc.HasExited) { $script:Proc.Kill() }
        Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'Watch-KohyaTraining follows a Start-KohyaTraining job to its end' {
        $job = Start-KohyaTraining -ConfigPath $Config -Demo -MaxSteps 8 -OutputPath $Run
        $records = @(Watch-KohyaTraining -Path $Run -Timeout 600 -Verbose 4>&1)
        $verbose = $records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $records = @($records | Where-Object { $_ -is [KohyaPS.Contracts.KohyaTrainingLogRecord] })
        $records.Step | Should -Be (1..8) -Because 'the watch starts with the first step of the running segment'
        "$verbose" | Should -Match 'is over: (Completed|TargetReached) at step 8'
        $result = $job | Wait-Job | Receive-Job
        $result.Status | Should -Be 'Completed'

        $log = @(Get-KohyaTrainingLog -Path $Run)
        $log.Step | Should -Be (1..8)
        $log.Loss | Should -Be $records.Loss
        ($log | Where-Object IsResumePoint) | Should -BeNullOrEmpty
        @(Get-ChildItem (Join-Path $Run 'logs') -Filter 'events.out.tfevents.*').Count | Should -Be 1

        $file = $log | Export-KohyaLossPlot -Path (Join-Path $Dir 'loss.png') -Width 640 -Height 320 -PassThru
        $file | Should -BeOfType [IO.FileInfo]
        Get-PngSize $file.FullName | Should -Be '640x320'
    }

    It 'Get-KohyaTrainingLog stitches a run killed with SIGKILL and resumed: the re-trained steps replace the logged ones' {
        $script:Proc = Start-KohyaChild -OutputPath "$Run.out" -Script @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 100000 -OutputPath '$Run'
"@
        Wait-KohyaLogLines -Run $Run -Count 5 -Process $Proc | Should -BeGreaterOrEqual 5 -Because (Get-Content "$Run.out" -Raw)
        Send-Signal $Proc.Id 'KILL'
        $Proc.WaitForExit(60000) | Should -BeTrue
        $logged = Get-KohyaLastLoggedStep $Run
        $checkpoint = (Get-KohyaCheckpoint -Path $Run -Latest).Step
        $logged | Should -BeGreaterThan $checkpoint -Because 'saves every 2 steps: the kill lands after steps that were logged, not saved'

        $result = Resume-KohyaTraining -Path $Run -Latest -MaxSteps ($logged + 2) -WarningAction SilentlyContinue
        $result.FinalStep | Should -Be ($logged + 2)

        $log = @(Get-KohyaCheckpoint -Path $Run -Latest | Get-KohyaTrainingLog)
        $log.Step | Should -Be (1..($logged + 2))
        @($log | Where-Object IsResumePoint).Step | Should -Be ($checkpoint + 1)
        @($log | Where-Object Step -gt $checkpoint).SegmentNumber | Sort-Object -Unique | Should -Be 2
        $all = @(Get-KohyaTrainingLog -Path $Run -IncludeSuperseded)
        @($all | Where-Object IsSuperseded).Step | Should -Be (($checkpoint + 1)..$logged)
        @(Get-KohyaTrainingLog -LiteralPath $Run -Segment 2 -FirstStep ($logged + 1)).Step | Should -Be (($logged + 1)..($logged + 2))
        @(Get-ChildItem (Join-Path $Run 'logs') -Filter 'events.out.tfevents.*').Count | Should -Be 2

        Export-KohyaLossPlot -RunPath $Run -Path (Join-Path $Dir 'run.png') -Width 400 -Height 200
        Get-PngSize (Join-Path $Dir 'run.png') | Should -Be '400x200'
    }
}

Describe 'Monitoring errors' {
    BeforeAll { $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-mon-err-').FullName }
    AfterAll { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'Get-KohyaTrainingLog: RunNotFound for a missing folder, TrainingLogNotFound for a folder without a log, TrainingLogInvalid for a damaged line' {
        $e = Get-KohyaTrainingLog -LiteralPath (Join-Path $Dir 'missing') -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RunNotFound*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $empty = New-Item -ItemType Directory (Join-Path $Dir 'empty')
        Get-KohyaTrainingLog -Path $empty.FullName -ErrorAction SilentlyContinue -ErrorVariable err2
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'TrainingLogNotFound*'
        $err2[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        $bad = Join-Path $Dir 'bad'
        New-Item -ItemType Directory (Join-Path $bad 'logs') -Force | Out-Null
        Set-Content (Join-Path $bad 'logs/train.jsonl') -Value '{"step":1,"loss":1,"segment":"a"}', 'oops'
        Get-KohyaTrainingLog -Path $bad -ErrorAction SilentlyContinue -ErrorVariable err3 | Out-Null
        $err3[0].FullyQualifiedErrorId | Should -BeLike 'TrainingLogInvalid*'
        $err3[0].CategoryInfo.Category | Should -Be 'InvalidData'
    }

    It 'Watch-KohyaTraining: RunNotFound for a folder in a missing folder; WatchTimedOut when a held run logs nothing in time' {
        { Watch-KohyaTraining -Path (Join-Path $Dir 'missing/run') -ErrorAction Stop } | Should -Throw -ErrorId 'RunNotFound*'
        $held = Join-Path $Dir 'held'
        New-Item -ItemType Directory (Join-Path $held 'logs') -Force | Out-Null
        Set-Content (Join-Path $held 'logs/segments.jsonl') -Value '{"event":"start","segment":"s","start_step":0,"target_step":5}'
        Set-Content (Join-Path $held '.kohyaps.lock.owner') -Value "pid $PID on $([Environment]::MachineName) since now"
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Watch-KohyaTraining -Path $held -Timeout 1 -PollIntervalMilliseconds 100 -ErrorAction SilentlyContinue -ErrorVariable err | Out-Null
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WatchTimedOut*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
    }

    It 'Watch-KohyaTraining: a real Ctrl+C in the terminal ends the watch at once' {
        $held = Join-Path $Dir 'held-stop'
        New-Item -ItemType Directory (Join-Path $held 'logs') -Force | Out-Null
        Set-Content (Join-Path $held 'logs/segments.jsonl') -Value '{"event":"start","segment":"s","start_step":0,"target_step":5}'
        Set-Content (Join-Path $held '.kohyaps.lock.owner') -Value "pid $PID on $([Environment]::MachineName) since now"
        $out = Join-Path $Dir 'watch.out'
        $session = Start-KohyaChildInTerminal -OutputPath $out -Script @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
'WATCHING'
Watch-KohyaTraining -Path '$held' -PollIntervalMilliseconds 100
'AFTER'
"@
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ((Test-Path $out) -and (Get-Content $out -Raw) -match 'WATCHING') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
            Start-Sleep -Seconds 2
            (Get-Content $out -Raw) | Should -Not -Match 'EXIT=' -Because 'the run is held and logs nothing: the watch waits'
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Send-KohyaCtrlC $session
            while (-not ((Get-Content $out -Raw) -match 'EXIT=') -and $clock.Elapsed.TotalSeconds -lt 30) { Start-Sleep -Milliseconds 100 }
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
        }
        finally { & tmux kill-session -t $session 2>$null }
        $text = Get-Content $out -Raw
        $text | Should -Match 'EXIT='
        $text | Should -Not -Match 'AFTER' -Because 'Ctrl+C stops the pipeline, not only the watch'
    }

    It 'Export-KohyaLossPlot: LossPlotExists without -Force, nothing written with -WhatIf, LossPlotNoRecords for an empty log' {
        $run = Join-Path $Dir 'plotrun'
        New-Item -ItemType Directory (Join-Path $run 'logs') -Force | Out-Null
        Set-Content (Join-Path $run 'logs/train.jsonl') -Value (1..3 | ForEach-Object { '{"step":' + $_ + ',"loss":' + (1.0 / $_) + ',"lr":0.001,"segment":"a"}' })
        $png = Join-Path $Dir 'exists.png'
        Set-Content $png -Value 'not a png'
        Export-KohyaLossPlot -RunPath $run -Path $png -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LossPlotExists*'
        Export-KohyaLossPlot -RunPath $run -Path $png -Force -WhatIf
        Get-Content $png | Should -Be 'not a png'
        Export-KohyaLossPlot -RunPath $run -Path $png -Force
        Get-PngSize $png | Should -Be '1000x560'
        Set-Content (Join-Path $run 'logs/train.jsonl') -Value ''
        Export-KohyaLossPlot -RunPath $run -Path (Join-Path $Dir 'none.png') -ErrorAction SilentlyContinue -ErrorVariable err2
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'LossPlotNoRecords*'
    }
}
