BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    # One real run (tiny model, 3 steps, a checkpoint per step); each test works on its own copy.
    $script:Source = [IO.Directory]::CreateTempSubdirectory('kohya-pester-ckpt-').FullName
    $config = New-KohyaTestConfig -Path (Join-Path $Source 'fast.yaml') -SaveEvery 1
    $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$null = Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps 3 -OutputPath '$Source/run' -ErrorAction Stop
"@
    if ($r.ExitCode -ne 0) { throw "training the source run failed:`n$($r.Output -join "`n")" }

    function script:Copy-Run([string] $To) {
        Copy-Item -Recurse "$Source/run" $To
        $To
    }
    function script:Update-Checksums([string] $Checkpoint) {
        # What a hand edit that covers its tracks does: a checksum list matching the files as they are now.
        Get-ChildItem $Checkpoint -File | Where-Object Name -ne 'checksums.sha256' | Sort-Object Name |
            ForEach-Object { '{0}  {1}' -f (Get-FileHash $_.FullName -Algorithm SHA256).Hash.ToLowerInvariant(), $_.Name } |
            Set-Content -Path (Join-Path $Checkpoint 'checksums.sha256')
    }
}

AfterAll { Remove-Item $Source -Recurse -Force -ErrorAction SilentlyContinue }

Describe 'Test-KohyaCheckpoint through pwsh' {
    BeforeEach { $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-pester-test-').FullName }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'Get-KohyaCheckpoint | Test-KohyaCheckpoint | Resume-KohyaTraining works literally on a good checkpoint' {
        $run = Copy-Run "$Dir/run"
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$tests = Get-KohyaCheckpoint -Path '$run' | Test-KohyaCheckpoint
"TESTED=`$((`$tests | ForEach-Object { '{0}:{1}' -f `$_.Step, `$_.IsValid }) -join ',')"
"CHECKS=`$(`$tests[-1].Checks.Count) FAILS=`$(`$tests[-1].FailCount)"
`$result = Get-KohyaCheckpoint -Path '$run' -Latest | Test-KohyaCheckpoint | Resume-KohyaTraining -AdditionalSteps 2
"RESUMED=`$(`$result.StartStep)->`$(`$result.FinalStep)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'TESTED=1:True,2:True,3:True'
        ($r.Output | Where-Object { $_ -like 'CHECKS=*' }) | Should -Match 'CHECKS=\d+ FAILS=0'
        $r.Output | Should -Contain 'RESUMED=3->5'
    }

    It 'a flipped byte fails the test, and Resume refuses the failed result without training' {
        $run = Copy-Run "$Dir/run"
        $model = "$run/checkpoints/run-s00000003/model.safetensors"
        $bytes = [IO.File]::ReadAllBytes($model); $bytes[$bytes.Length - 9] = $bytes[$bytes.Length - 9] -bxor 0x04
        [IO.File]::WriteAllBytes($model, $bytes)
        $logBefore = @(Get-Content "$run/logs/train.jsonl").Count
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$t = Get-KohyaCheckpoint -Path '$run' -Latest | Test-KohyaCheckpoint
"VALID=`$(`$t.IsValid)"
`$t.Checks | Where-Object Status -eq 'Fail' | ForEach-Object { "FAIL=`$(`$_.Name)|`$(`$_.ErrorId)" }
`$t | Resume-KohyaTraining -AdditionalSteps 2 -ErrorVariable e -ErrorAction SilentlyContinue
"ERRORID=`$(`$e[0].FullyQualifiedErrorId)"
"@
        $r.Output | Should -Contain 'VALID=False'
        $r.Output | Should -Contain 'FAIL=Checksum model.safetensors|ChecksumMismatch'
        ($r.Output | Where-Object { $_ -like 'ERRORID=*' }) | Should -Match '^ERRORID=CheckpointTestFailed'
        @(Get-Content "$run/logs/train.jsonl").Count | Should -Be $logBefore
        Test-Path "$run/checkpoints/run-s00000003" | Should -BeTrue -Because 'testing never moves or deletes anything'
    }

    It '-Deep finds a NaN that the checksums were rewritten to hide; the fast test does not read tensors' {
        $run = Copy-Run "$Dir/run"
        $ckpt = "$run/checkpoints/run-s00000003"
        $model = "$ckpt/model.safetensors"
        $bytes = [IO.File]::ReadAllBytes($model)
        $dataStart = 8 + [BitConverter]::ToUInt64($bytes, 0)
        [BitConverter]::GetBytes([float]::NaN).CopyTo($bytes, [int]$dataStart + 16)
        [IO.File]::WriteAllBytes($model, $bytes)
        Update-Checksums $ckpt
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
"FAST=`$(Test-KohyaCheckpoint -LiteralPath '$ckpt' -Quiet)"
`$deep = Test-KohyaCheckpoint -Path '$ckpt' -Deep
"DEEP=`$(`$deep.IsValid)"
`$deep.Checks | Where-Object Status -eq 'Fail' | ForEach-Object { "FAIL=`$(`$_.Name)|`$(`$_.ErrorId)" }
"@
        $r.Output | Should -Contain 'FAST=True'
        $r.Output | Should -Contain 'DEEP=False'
        $r.Output | Should -Contain 'FAIL=Model values|NonFiniteWeights'
    }

    It 'a run folder tests each checkpoint; -Quiet gives one bool each; a missing optimizer and a checksum list naming ../x fail' {
        $run = Copy-Run "$Dir/run"
        Remove-Item "$run/checkpoints/run-s00000001/optimizer.safetensors"
        Add-Content "$run/checkpoints/run-s00000002/checksums.sha256" ("{0}  ../x" -f ('0' * 64))
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
"QUIET=`$((Test-KohyaCheckpoint -Path '$run' -Quiet) -join ',')"
Test-KohyaCheckpoint -Path '$run' | ForEach-Object { `$c = `$_; `$c.Checks | Where-Object Status -eq 'Fail' | ForEach-Object { "FAIL=`$(`$c.Step)|`$(`$_.Name)|`$(`$_.ErrorId)" } }
"@
        $r.Output | Should -Contain 'QUIET=False,False,True'
        $r.Output | Should -Contain 'FAIL=1|Files|CheckpointFileMissing'
        $r.Output | Should -Contain 'FAIL=2|Checksum list|ChecksumListInvalid'
    }

    It 'bad paths are errors with ids: PathNotFound, CheckpointNotFound; -Quiet still answers False' {
        New-Item -ItemType Directory "$Dir/empty" | Out-Null
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
Test-KohyaCheckpoint -Path '$Dir/nope' -ErrorVariable e1 -ErrorAction SilentlyContinue
"E1=`$(`$e1[0].FullyQualifiedErrorId)"
Test-KohyaCheckpoint -Path '$Dir/empty' -ErrorVariable e2 -ErrorAction SilentlyContinue
"E2=`$(`$e2[0].FullyQualifiedErrorId)"
"Q=`$(Test-KohyaCheckpoint -Path '$Dir/empty' -Quiet -ErrorAction SilentlyContinue)"
"@
        ($r.Output | Where-Object { $_ -like 'E1=*' }) | Should -Match '^E1=PathNotFound'
        ($r.Output | Where-Object { $_ -like 'E2=*' }) | Should -Match '^E2=CheckpointNotFound'
        $r.Output | Should -Contain 'Q=False'
    }

    It 'the default view is one readable row per checkpoint, and failing checks show in it' {
        $run = Copy-Run "$Dir/run"
        Remove-Item "$run/checkpoints/run-s00000002/state.json"
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
Test-KohyaCheckpoint -Path '$run' | Out-String -Width 200
"@
        $text = $r.Output -join "`n"
        $text | Should -Match 'Name\s+Step\s+Format\s+IsValid\s+Checks\s+Problems'
        $text | Should -Match 'run-s00000002.*False.*Files: CheckpointFileMissing'
        $text | Should -Match 'run-s00000003\s+3 KohyaPS\s+True'
    }
}
