BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
}

Describe 'Training through pwsh' {
    BeforeEach {
        $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-pester-').FullName
        $script:Config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml')
    }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'Invoke-KohyaTraining -Demo trains, logs every step and leaves a checkpoint; Resume to a higher target continues the step count' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$result = Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 6 -OutputPath '$Dir/run'
"STATUS=`$(`$result.Status) FINAL=`$(`$result.FinalStep)"
`$again = Get-KohyaCheckpoint -Path '$Dir/run' -Latest | Resume-KohyaTraining -AdditionalSteps 3
"RESUMED=`$(`$again.StartStep)->`$(`$again.FinalStep)"
(Get-KohyaCheckpoint -Path '$Dir/run' | ForEach-Object Step) -join ','
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'STATUS=Completed FINAL=6'
        $r.Output | Should -Contain 'RESUMED=6->9'
        $r.Output | Should -Contain '5,6,9'
        $steps = Get-Content "$Dir/run/logs/train.jsonl" | ConvertFrom-Json | ForEach-Object step
        $steps | Should -Be (1..9)
    }

    It 'Resume-KohyaTraining -Latest at the target says so and succeeds without training' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$null = Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 2 -OutputPath '$Dir/run'
`$again = Resume-KohyaTraining -Path '$Dir/run' -Latest -Verbose 4>&1
`$again | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { "VERBOSE: `$(`$_.Message)" }
"STATUS=`$((`$again | Where-Object { `$_ -isnot [System.Management.Automation.VerboseRecord] }).Status)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'STATUS=AlreadyComplete'
        ($r.Output -join "`n") | Should -Match 'Nothing to train'
    }

    It 'Resume-KohyaTraining on a folder with nothing to resume fails with NothingToResume' {
        New-Item -ItemType Directory "$Dir/empty" | Out-Null
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
try { Resume-KohyaTraining -Path '$Dir/empty' -Latest -ErrorAction Stop } catch { "ERRORID=`$(`$_.FullyQualifiedErrorId)" }
"@
        ($r.Output | Where-Object { $_ -like 'ERRORID=*' }) | Should -Match '^ERRORID=NothingToResume,'
    }

    It 'Invoke-KohyaTraining without a dataset fails with DatasetNotSpecified' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
try { Invoke-KohyaTraining -OutputPath '$Dir/x' -ErrorAction Stop } catch { "ERRORID=`$(`$_.FullyQualifiedErrorId)" }
"@
        ($r.Output | Where-Object { $_ -like 'ERRORID=*' }) | Should -Match '^ERRORID=DatasetNotSpecified,'
    }

    It 'Start-KohyaTraining returns a job; Stop-Job saves at the step reached' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$job = Start-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 100000 -SaveEveryNSteps 0 -OutputPath '$Dir/run'
"TYPE=`$(`$job.PSJobTypeName)"
`$log = '$Dir/run/logs/train.jsonl'
while (-not (Test-Path `$log) -or @(Get-Content `$log).Count -lt 3) { Start-Sleep -Milliseconds 100; if (`$job.State -ne 'Running') { break } }
Stop-Job `$job
"STATE=`$(`$job.State)"
`$result = Receive-Job `$job
"STATUS=`$(`$result.Status) FINAL=`$(`$result.FinalStep)"
"CKPT=`$((Get-KohyaCheckpoint -Path '$Dir/run' -Latest).Step)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'TYPE=KohyaTrainingJob'
        $r.Output | Should -Contain 'STATE=Stopped'
        $final = ($r.Output | Where-Object { $_ -like 'STATUS=*' }) -replace '^STATUS=Stopped FINAL=', ''
        [int]$final | Should -BeGreaterOrEqual 3
        $r.Output | Should -Contain "CKPT=$final"
        Get-KohyaLastLoggedStep "$Dir/run" | Should -Be ([int]$final)
    }

    It 'a hyperparameter set survives YAML export and import, and unknown keys are errors naming the line' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$set = Import-KohyaHyperparameterSet '$Config'
`$set.Optimizer.LearningRate = 0.0005
`$set | Export-KohyaHyperparameterSet -Path '$Dir/out.yaml'
`$back = Import-KohyaHyperparameterSet '$Dir/out.yaml'
"LR=`$(`$back.Optimizer.LearningRate) PRESET=`$(`$back.Model.Preset)"
Set-Content '$Dir/bad.yaml' "Model:`n  Preset: tiny`n  Colour: blue"
try { Import-KohyaHyperparameterSet '$Dir/bad.yaml' -ErrorAction Stop } catch { "ERRORID=`$(`$_.FullyQualifiedErrorId) MSG=`$(`$_.Exception.Message)" }
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'LR=0.0005 PRESET=tiny'
        $err = $r.Output | Where-Object { $_ -like 'ERRORID=*' }
        $err | Should -Match '^ERRORID=HyperparameterUnknownKey,'
        $err | Should -Match 'line 3'
        $err | Should -Match 'Colour'
    }
}

Describe 'Dependency isolation' {
    It 'a session that already holds YamlDotNet 16.3.0 imports KohyaPS and parses YAML with its own YamlDotNet' {
        $yaml16 = Join-Path (Get-NuGetPackagePath 'YamlDotNet' '16.3.0') 'lib/net8.0/YamlDotNet.dll'
        Test-Path $yaml16 | Should -BeTrue
        $dir = [IO.Directory]::CreateTempSubdirectory('kohya-yaml-').FullName
        $config = New-KohyaTestConfig -Path (Join-Path $dir 'c.yaml')
        $r = Invoke-KohyaChild @"
Add-Type -Path '$yaml16'
`$before = ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' }).GetName().Version
"SESSION_YAML=`$before"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$set = Import-KohyaHyperparameterSet '$config' -ErrorAction Stop
"PRESET=`$(`$set.Model.Preset)"
`$versions = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' } | ForEach-Object { "`$(`$_.GetName().Version.Major)@`$([System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).Name)" }
"YAMLS=`$((`$versions | Sort-Object) -join ',')"
"@
        Remove-Item $dir -Recurse -Force
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'SESSION_YAML=16.0.0.0'
        $r.Output | Should -Contain 'PRESET=tiny'
        $r.Output | Should -Contain 'YAMLS=16@Default,18@KohyaPS.Engine'
    }
}
