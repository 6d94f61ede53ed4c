BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
}

Describe 'Loss guards and validation through pwsh' {
    BeforeEach {
        $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-pester-').FullName
    }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'an injected NaN (KOHYAPS_TEST_FAULTS) is skipped, then rolled back: weights of the checkpoint before, half the learning rate, a rollback segment' {
        $config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml') -SaveEvery 4 -Extra @"
LRSchedule:
  Name: constant
  WarmupSteps: 0
Monitoring:
  NonFiniteRollbackAfter: 2
"@
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$env:KOHYAPS_TEST_FAULTS = 'nan-loss@6,7'
`$result = Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps 10 -OutputPath '$Dir/run' 3>&1
`$warnings = @(`$result | Where-Object { `$_ -is [System.Management.Automation.WarningRecord] })
`$result = `$result | Where-Object { `$_ -isnot [System.Management.Automation.WarningRecord] }
"STATUS=`$(`$result.Status) FINAL=`$(`$result.FinalStep) ROLLBACKS=`$(`$result.Rollbacks) SCALE=`$(`$result.LearningRateScale)"
"EVENTS=`$((`$result.Events | ForEach-Object { "`$(`$_.Kind):`$(`$_.Action)@`$(`$_.Step)" }) -join ',')"
"WARNINGS=`$(`$warnings.Count)"
`$latest = Get-KohyaCheckpoint -Path '$Dir/run' -Latest
"SEGMENT=`$(`$latest.Lineage.Segments[-1].ResumedFrom) `$(`$latest.Lineage.Segments[-1].Overrides[0])"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'STATUS=Completed FINAL=10 ROLLBACKS=1 SCALE=0.5'
        $r.Output | Should -Contain 'EVENTS=NonFinite:Skip@6,NonFinite:Rollback@7,Rollback:Rollback@7'
        ($r.Output | Where-Object { $_ -like 'WARNINGS=*' }) | Should -Be 'WARNINGS=3'
        ($r.Output | Where-Object { $_ -like 'SEGMENT=*' }) | Should -Match '^SEGMENT=run-s00000004 Rollback 1 after 2 non-finite steps at step 7'
        $log = Get-Content "$Dir/run/logs/train.jsonl" | ConvertFrom-Json
        ($log | ForEach-Object step) -join ',' | Should -Be '1,2,3,4,5,6,7,5,6,7,8,9,10'
        $log[4].lr | Should -Be 0.001
        $log[7].lr | Should -Be 0.0005
        $events = Get-Content "$Dir/run/logs/events.jsonl" -ErrorAction SilentlyContinue
        # events.jsonl is written by the monitoring log hook when it is present in this build
        if ($events) { ($events | ConvertFrom-Json | ForEach-Object kind) -join ',' | Should -Be 'NonFinite,NonFinite,Rollback' }
    }

    It 'early stopping ends the run and the best checkpoint is marked in Get-KohyaCheckpoint' {
        $config = Join-Path $Dir 'validated.yaml'
        @"
Model:
  Preset: tiny
  MaxTokens: 12
Data:
  Resolution: 16
  BatchSize: 4
  ValidationSplit: 0.25
Resources:
  Threads: 2
Saving:
  SaveEveryNSteps: 0
  AsyncSave: false
Monitoring:
  ValidateEveryNSteps: 2
  EarlyStoppingPatience: 2
  EarlyStoppingMinDelta: 10
"@ | Set-Content -Path $config
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$result = Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps 30 -OutputPath '$Dir/run' -WarningAction SilentlyContinue
"STATUS=`$(`$result.Status) FINAL=`$(`$result.FinalStep) REASON=`$(`$result.StopReason) BEST=`$(`$result.BestValidationStep)"
Get-KohyaCheckpoint -Path '$Dir/run' | ForEach-Object { "CKPT=`$(`$_.Step) BEST=`$(`$_.IsBest) VAL=`$(`$null -ne `$_.ValidationLoss)" }
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'STATUS=Stopped FINAL=6 REASON=early stopping BEST=2'
        $r.Output | Should -Contain 'CKPT=2 BEST=True VAL=True'
        $r.Output | Should -Contain 'CKPT=6 BEST=False VAL=True'
    }
}
