# The Pester assertions KohyaPS ships: each passes and fails with a message that says what is wrong, in a
# real Pester run (this one), on real runs, checkpoints and datasets.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    Import-Module (Get-KohyaTestManifest) -Force   # Pester is loaded: the operators register on import
    $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-assert-').FullName
    $config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml') -SaveEvery 2
    $script:Run = Join-Path $Dir 'run'
    Invoke-KohyaTraining -ConfigPath $config -Demo -MaxSteps 2 -OutputPath $Run | Out-Null
    $script:Checkpoint = Get-KohyaCheckpoint -Path $Run -Latest

    function script:Get-FailureMessage([scriptblock] $Assertion) {
        try { & $Assertion; throw 'the assertion passed' } catch { $_.Exception.Message }
    }
}

AfterAll { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

Describe 'Should -BeValidKohyaCheckpoint' {
    BeforeAll {
        $script:Damaged = Join-Path $Dir "damaged/checkpoints/$($Checkpoint.Name)"
        New-Item -ItemType Directory (Split-Path $Damaged) -Force | Out-Null
        Copy-Item -LiteralPath $Checkpoint.Path -Destination $Damaged -Recurse
        $model = Join-Path $Damaged 'model.safetensors'
        $bytes = [IO.File]::ReadAllBytes($model); $bytes[-1] = $bytes[-1] -bxor 0xFF; [IO.File]::WriteAllBytes($model, $bytes)
    }

    It 'passes for a checkpoint object, a checkpoint folder and a run folder' {
        $Checkpoint | Should -BeValidKohyaCheckpoint
        $Checkpoint.Path | Should -BeValidKohyaCheckpoint
        $Run | Should -BeValidKohyaCheckpoint
    }

    It 'fails for a damaged checkpoint, naming the failed check and its error id' {
        $message = Get-FailureMessage { $Damaged | Should -BeValidKohyaCheckpoint -Because 'we resume from it' }
        $message | Should -Match "Expected a valid KohyaPS checkpoint, because we resume from it, but $($Checkpoint.Name): 1 check\(s\) failed: "
        $message | Should -Match 'model\.safetensors'
        $message | Should -Match '\[\w+\]'
    }

    It '-Not passes for the damaged one and fails for a good one' {
        $Damaged | Should -Not -BeValidKohyaCheckpoint
        Get-FailureMessage { $Checkpoint | Should -Not -BeValidKohyaCheckpoint } | Should -Match 'not to be a valid KohyaPS checkpoint, but every check passed'
    }

    It 'fails plainly for a path that does not exist or is no checkpoint' {
        Get-FailureMessage { (Join-Path $Dir 'nope') | Should -BeValidKohyaCheckpoint } | Should -Match "does not exist"
        Get-FailureMessage { (Join-Path $Run 'logs') | Should -BeValidKohyaCheckpoint } | Should -Match "could not be tested: .*neither a checkpoint"
    }
}

Describe 'Should -HaveKohyaLossBelow' {
    BeforeAll {
        # A run that was resumed and trained step 4 again: the later segment's record supersedes the first.
        $script:Logged = Join-Path $Dir 'logged'
        New-Item -ItemType Directory (Join-Path $Logged 'logs') -Force | Out-Null
        @(
            '{"step":1,"loss":0.9,"segment":"a"}', '{"step":2,"loss":0.8,"segment":"a"}', '{"step":3,"loss":0.7,"segment":"a"}',
            '{"step":4,"loss":0.95,"segment":"a"}', '{"step":4,"loss":0.6,"segment":"b"}', '{"step":5,"loss":0.5,"segment":"b"}'
        ) | Set-Content (Join-Path $Logged 'logs/train.jsonl')
    }

    It 'passes when every loss after the step is below the limit, using the newest record of a step' {
        $Logged | Should -HaveKohyaLossBelow 0.65 -AfterStep 3
        $Logged | Should -HaveKohyaLossBelow 0.55   # the last step only
    }

    It 'fails naming the steps and their losses' {
        $message = Get-FailureMessage { $Logged | Should -HaveKohyaLossBelow 0.55 -AfterStep 3 }
        $message | Should -Be 'Expected every loss after step 3 (steps 4-5) to be below 0.55, but 1 of 2 were not: step 4: 0.6.'
    }

    It '-Not fails naming the losses below the limit' {
        $Logged | Should -Not -HaveKohyaLossBelow 0.5 -AfterStep 0
        Get-FailureMessage { $Logged | Should -Not -HaveKohyaLossBelow 0.75 -AfterStep 0 } |
            Should -Be 'Expected no loss below 0.75 after step 0 (steps 1-5), but found 3: step 3: 0.7, step 4: 0.6, step 5: 0.5.'
    }

    It 'reads a real training log' {
        $Run | Should -HaveKohyaLossBelow 1e9 -AfterStep 0
        Get-FailureMessage { $Run | Should -HaveKohyaLossBelow 0 } | Should -Match '^Expected every loss at the last step \(2\) to be below 0, but 1 of 1 were not: step 2: '
    }

    It 'fails plainly without a log or past its end' {
        Get-FailureMessage { $Dir | Should -HaveKohyaLossBelow 1 } | Should -Match 'has none'
        Get-FailureMessage { $Logged | Should -HaveKohyaLossBelow 1 -AfterStep 9 } | Should -Match 'the log ends at step 5'
    }
}

Describe 'Should -MatchKohyaDataset' {
    It 'passes for the dataset the checkpoint was trained on' {
        (Join-Path $Run 'dataset') | Should -MatchKohyaDataset $Checkpoint
        (Join-Path $Run 'dataset') | Should -MatchKohyaDataset $Checkpoint.Path
    }

    It 'fails naming each change, and -Not passes' {
        $copy = Join-Path $Dir 'dataset-copy'
        Copy-Item -LiteralPath (Join-Path $Run 'dataset') -Destination $copy -Recurse
        $caption = Get-ChildItem $copy -Recurse -Filter *.txt | Sort-Object FullName | Select-Object -First 1
        Set-Content -LiteralPath $caption.FullName -Value 'a retouched caption'
        $message = Get-FailureMessage { $copy | Should -MatchKohyaDataset $Checkpoint }
        $message | Should -Match "^Expected the dataset to match the manifest, but 1 change\(s\) were found: CaptionChanged .*$([regex]::Escape($caption.BaseName)).* -> 'a retouched caption'\)$"
        $copy | Should -Not -MatchKohyaDataset $Checkpoint
        Get-FailureMessage { (Join-Path $Run 'dataset') | Should -Not -MatchKohyaDataset $Checkpoint } | Should -Match 'to differ from the manifest'
    }
}

Describe 'Register-KohyaShouldOperator' {
    It 'refuses without Pester and registers (idempotently) when Pester is imported after KohyaPS' {
        $pester = Join-Path (Get-NuGetPackagePath 'Pester' '5.7.1') 'tools/Pester.psd1'
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
try { Register-KohyaShouldOperator -ErrorAction Stop } catch { "NOPESTER=`$(`$_.FullyQualifiedErrorId)" }
Import-Module '$pester'
"BEFORE=`$(@(Get-ShouldOperator | Where-Object Name -eq 'HaveKohyaLossBelow').Count)"
Register-KohyaShouldOperator
Register-KohyaShouldOperator
"AFTER=`$(@(Get-ShouldOperator | Where-Object Name -like '*Kohya*').Count)"
'$Dir/logged' | Should -HaveKohyaLossBelow 0.55
'OK'
"@
        $text = $r.Output -join "`n"
        $r.ExitCode | Should -Be 0 -Because $text
        $text | Should -Match 'NOPESTER=PesterNotLoaded'
        $text | Should -Match 'BEFORE=0'
        $text | Should -Match 'AFTER=3'
        $text | Should -Match 'OK'
    }
}
