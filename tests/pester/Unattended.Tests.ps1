# Unattended operation end to end: the scheduled task's exact command run by a real child pwsh, each documented
# exit code, the run log, and registering, listing and removing tasks (systemd units here, in a private
# XDG_CONFIG_HOME so the machine's own units are never touched).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    Import-Module (Get-KohyaTestManifest) -Force
    $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-unattended-').FullName
    $script:Config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml') -SaveEvery 2
    $script:Run = Join-Path $Dir "ann's run"
    Invoke-KohyaTraining -ConfigPath $Config -Demo -MaxSteps 2 -OutputPath $Run | Out-Null
    $script:SavedConfigHome = $env:XDG_CONFIG_HOME
    $env:XDG_CONFIG_HOME = Join-Path $Dir 'config'

    function script:Invoke-PwshCommand([string] $Executable, [string[]] $Arguments) {
        # Runs a program the way a scheduler does: no shell, stdin closed, output collected.
        $psi = [Diagnostics.ProcessStartInfo]::new($Executable)
        foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.RedirectStandardInput = $true
        $psi.UseShellExecute = $false
        $psi.Environment['NO_COLOR'] = '1'
        $p = [Diagnostics.Process]::Start($psi)
        $p.StandardInput.Close()
        $out = $p.StandardOutput.ReadToEndAsync(); $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit(300000)) { $p.Kill($true); throw "timed out: $Executable" }
        [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $out.Result + $err.Result }
    }

    function script:Invoke-Resume([string] $Parameters) {
        # The command a task runs, with other Resume-KohyaTraining parameters.
        $pwsh = @(Get-KohyaPwshCommand)
        $text = "Import-Module '$(Get-KohyaTestManifest)' -ErrorAction Stop; Resume-KohyaTraining $Parameters; exit `$LASTEXITCODE"
        Invoke-PwshCommand $pwsh[0] (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $text))
    }

    function script:Copy-Run([string] $Name) {
        $copy = Join-Path $Dir $Name
        Copy-Item -LiteralPath $Run -Destination $copy -Recurse
        Remove-Item -LiteralPath (Join-Path $copy 'logs/kohyaps.log') -ErrorAction SilentlyContinue
        $copy
    }

    function script:Get-LastLogLine([string] $RunPath) {
        $line = Get-Content -LiteralPath (Join-Path $RunPath 'logs/kohyaps.log') | Select-Object -Last 1
        $f = $line -split "`t"
        [pscustomobject]@{ Event = $f[1]; Outcome = $f[2]; ExitCode = $f[3]; Pid = $f[4]; Command = $f[7] }
    }

    function script:Quote([string] $Path) { "'" + ($Path -replace "'", "''") + "'" }
}

AfterAll {
    $env:XDG_CONFIG_HOME = $SavedConfigHome
    Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Register-KohyaTrainingTask' {
    It '-WhatIf shows the exact unit text and writes nothing' {
        $child = Invoke-KohyaChild "Import-Module `$env:KOHYA_MODULE_MANIFEST; `$env:XDG_CONFIG_HOME = '$($env:XDG_CONFIG_HOME)'; Register-KohyaTrainingTask -Path $(Quote $Run) -Trigger Daily -At '02:30' -RestartOnFailure -WhatIf"
        $text = $child.Output -join "`n"
        $text | Should -Match 'What if: Register the training task ''ann-s-run'''
        $text | Should -Match '(?m)^ExecStart=.*Resume-KohyaTraining -Path ''.*ann''''s run'' -Latest; exit \$\$LASTEXITCODE"$'
        $text | Should -Match '(?m)^OnCalendar=\*-\*-\* 02:30:00$'
        $text | Should -Match '(?m)^RestartPreventExitStatus=10 11 12 13 14 15$'
        Test-Path (Join-Path $env:XDG_CONFIG_HOME 'systemd/user/kohyaps-ann-s-run.service') | Should -BeFalse
    }

    It 'registers a user unit that Get-KohyaTrainingTask lists, whose command parses, and refuses a duplicate' {
        $task = Register-KohyaTrainingTask -Path $Run -Name nightly -Trigger Daily -At '03:00' -RestartOnFailure -WarningAction SilentlyContinue
        $task.Location | Should -Be (Join-Path $env:XDG_CONFIG_HOME 'systemd/user/kohyaps-nightly.service')
        $task.Scheduler | Should -Be 'SystemdUser'
        (Get-KohyaTrainingTask -Name nightly).RunPath | Should -Be $Run
        (Get-KohyaTrainingTask -Path $Run).Name | Should -Contain 'nightly'
        { Register-KohyaTrainingTask -Path $Run -Name nightly -ErrorAction Stop } | Should -Throw -ErrorId 'TaskExists*'
        $errors = $null
        [System.Management.Automation.Language.Parser]::ParseInput($task.Arguments[-1], [ref]$null, [ref]$errors) | Out-Null
        $errors | Should -BeNullOrEmpty
    }

    It 'writes units that systemd-analyze verify accepts' -Skip:(-not (Get-Command systemd-analyze -ErrorAction SilentlyContinue)) {
        $task = Get-KohyaTrainingTask -Name nightly
        $units = Join-Path $env:XDG_CONFIG_HOME 'systemd/user'
        $out = & systemd-analyze verify (Join-Path $units 'kohyaps-nightly.service') (Join-Path $units 'kohyaps-nightly.timer') 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $task.Definition | Should -Match '\[Timer\]'
    }

    It 'refuses a missing run folder, a bad name and a Daily trigger without -At, each with its error id' {
        { Register-KohyaTrainingTask -Path (Join-Path $Dir 'nope') -ErrorAction Stop } | Should -Throw -ErrorId 'RunNotFound*'
        { Register-KohyaTrainingTask -Path $Run -Name 'bad name' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidTaskName*'
        { Register-KohyaTrainingTask -Path $Run -Trigger Daily -ErrorAction Stop } | Should -Throw -ErrorId 'TaskTimeRequired*'
    }
}

Describe 'Exit codes of the scheduled resume (real child pwsh)' {
    It '0: the registered command itself, on a run already at its target; the run log records it' {
        $task = Register-KohyaTrainingTask -Path $Run -Name atboot -WarningAction SilentlyContinue
        $r = Invoke-PwshCommand $task.Executable $task.Arguments
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $line = Get-LastLogLine $Run
        $line.Event, $line.Outcome, $line.ExitCode | Should -Be 'stop', 'AlreadyComplete', '0'
        $line.Command | Should -BeLike "Import-Module*Resume-KohyaTraining -Path '*ann''s run' -Latest; exit `$LASTEXITCODE"
        $listed = Get-KohyaTrainingTask -Name atboot
        $listed.LastOutcome | Should -Be 'stop AlreadyComplete'
        $listed.LastExitCode | Should -Be 0
    }

    It '0: trains to the target' {
        $copy = Copy-Run 'to-target'
        $r = Invoke-Resume "-Path $(Quote $copy) -Latest -MaxSteps 3"
        $r.ExitCode | Should -Be 0 -Because $r.Output
        (Get-KohyaCheckpoint -Path $copy -Latest).Step | Should -Be 3
        (Get-LastLogLine $copy).Outcome | Should -Be 'Completed'
    }

    It '10: another process holds the run' {
        $lock = [IO.File]::Open((Join-Path $Run '.kohyaps.lock'), 'OpenOrCreate', 'ReadWrite', 'None')
        try { $r = Invoke-Resume "-Path $(Quote $Run) -Latest" }
        finally { $lock.Dispose() }
        $r.ExitCode | Should -Be 10 -Because $r.Output
        (Get-LastLogLine $Run).Outcome | Should -Be 'RunLocked'
    }

    It '11: nothing to resume' {
        $empty = New-Item -ItemType Directory (Join-Path $Dir 'empty')
        $r = Invoke-Resume "-Path $(Quote $empty.FullName) -Latest"
        $r.ExitCode | Should -Be 11 -Because $r.Output
        (Get-LastLogLine $empty.FullName).Event | Should -Be 'failure'
    }

    It '12: the checkpoint asked for is damaged' {
        $copy = Copy-Run 'damaged'
        $checkpoint = (Get-KohyaCheckpoint -Path $copy -Latest).Path
        $model = Join-Path $checkpoint 'model.safetensors'
        $bytes = [IO.File]::ReadAllBytes($model); $bytes[-1] = $bytes[-1] -bxor 0xFF; [IO.File]::WriteAllBytes($model, $bytes)
        $r = Invoke-Resume "-CheckpointPath $(Quote $checkpoint)"
        $r.ExitCode | Should -Be 12 -Because $r.Output
        (Get-LastLogLine $copy).Outcome | Should -Be 'CheckpointInvalid'
    }

    It '13: changed hyperparameters are refused, without a prompt' {
        $changed = New-KohyaTestConfig -Path (Join-Path $Dir 'changed.yaml') -SaveEvery 2 -Extra "Optimizer:`n  LearningRate: 0.5"
        $r = Invoke-Resume "-Path $(Quote $Run) -Latest -ConfigPath $(Quote $changed)"
        $r.ExitCode | Should -Be 13 -Because $r.Output
        $r.Output | Should -Match 'Optimizer.LearningRate'
    }

    It '14: a changed dataset is refused' {
        $data = Join-Path $Dir 'moved-dataset'
        Copy-Item -LiteralPath (Join-Path $Run 'dataset') -Destination $data -Recurse
        $caption = Get-ChildItem $data -Recurse -Filter *.txt | Select-Object -First 1
        Set-Content -LiteralPath $caption.FullName -Value 'a different caption'
        $r = Invoke-Resume "-Path $(Quote $Run) -Latest -AdditionalSteps 1 -DatasetPath $(Quote $data)"
        $r.ExitCode | Should -Be 14 -Because $r.Output
        (Get-LastLogLine $Run).Outcome | Should -Be 'DatasetChanged'
    }

    It '15: stopped before the target (Stop-KohyaTraining), after saving' {
        $copy = Copy-Run 'stopped'
        $out = Join-Path $Dir 'stopped.out'
        $proc = Start-KohyaChild -OutputPath $out -Script "Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop; Resume-KohyaTraining -Path $(Quote $copy) -Latest -AdditionalSteps 100000 | Out-Null; exit `$LASTEXITCODE"
        try {
            Wait-KohyaLogLines -Run $copy -Count 3 -Process $proc | Should -BeGreaterOrEqual 3 -Because (Get-Content $out -Raw)
            Stop-KohyaTraining -Path $copy
            $proc.WaitForExit(120000) | Should -BeTrue
        }
        finally { if (-not $proc.HasExited) { $proc.Kill() } }
        $proc.ExitCode | Should -Be 15 -Because (Get-Content $out -Raw)
        (Get-LastLogLine $copy).Outcome | Should -Be 'Stopped'
    }

    It '1: any other failure (a configuration file that does not exist)' {
        $r = Invoke-Resume "-Path $(Quote $Run) -Latest -ConfigPath $(Quote (Join-Path $Dir 'missing.yaml'))"
        $r.ExitCode | Should -Be 1 -Because $r.Output
    }
}

Describe 'Unregister-KohyaTrainingTask' {
    It '-WhatIf keeps the unit; without it the unit files go and the run folder stays' {
        Unregister-KohyaTrainingTask -Name nightly -WhatIf
        Test-Path (Join-Path $env:XDG_CONFIG_HOME 'systemd/user/kohyaps-nightly.service') | Should -BeTrue
        $removed = Get-KohyaTrainingTask -Name nightly | Unregister-KohyaTrainingTask -PassThru -WarningAction SilentlyContinue
        $removed.Name | Should -Be 'nightly'
        Test-Path (Join-Path $env:XDG_CONFIG_HOME 'systemd/user/kohyaps-nightly.service') | Should -BeFalse
        Test-Path (Join-Path $env:XDG_CONFIG_HOME 'systemd/user/kohyaps-nightly.timer') | Should -BeFalse
        Test-Path (Join-Path $Run 'checkpoints') | Should -BeTrue
    }

    It 'reports TaskNotFound for a name that is not registered' {
        { Unregister-KohyaTrainingTask -Name no-such-task -ErrorAction Stop } | Should -Throw -ErrorId 'TaskNotFound*'
        { Get-KohyaTrainingTask -Name no-such-task -ErrorAction Stop } | Should -Throw -ErrorId 'TaskNotFound*'
    }
}
