BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    # One real tiny run with a checkpoint at steps 1 and 2; each test samples it in a child pwsh.
    $script:Source = [IO.Directory]::CreateTempSubdirectory('kohya-pester-sample-').FullName
    $config = New-KohyaTestConfig -Path (Join-Path $Source 'fast.yaml') -SaveEvery 1
    $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$null = Invoke-KohyaTraining -ConfigPath '$config' -Demo -MaxSteps 2 -OutputPath '$Source/run' -ErrorAction Stop
"@
    if ($r.ExitCode -ne 0) { throw "training the source run failed:`n$($r.Output -join "`n")" }
    function script:Get-PngSize([string] $Path) {
        $b = [IO.File]::ReadAllBytes($Path)
        '{0}x{1}' -f (([int]$b[16] -shl 24) -bor ([int]$b[17] -shl 16) -bor ([int]$b[18] -shl 8) -bor $b[19]),
            (([int]$b[20] -shl 24) -bor ([int]$b[21] -shl 16) -bor ([int]$b[22] -shl 8) -bor $b[23])
    }
}

AfterAll { Remove-Item $Source -Recurse -Force -ErrorAction SilentlyContinue }

Describe 'Invoke-KohyaSample through pwsh' {
    It 'samples a checkpoint from the pipeline: files, sizes, grid, and the same seed gives the same bytes' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$ckpt = Get-KohyaCheckpoint -Path '$Source/run' -Latest
`$a = `$ckpt | Invoke-KohyaSample -Prompt 'a red circle', 'a blue square --w 24 --h 8 --n red' -Count 2 -Seed 7 -Steps 3 -Sampler k_euler -OutputPath '$Source/a'
`$b = `$ckpt | Invoke-KohyaSample -Prompt 'a red circle', 'a blue square --w 24 --h 8 --n red' -Count 2 -Seed 7 -Steps 3 -Sampler k_euler -OutputPath '$Source/b'
"TYPE=`$(`$a[0].GetType().FullName) COUNT=`$(`$a.Count) STEP=`$(`$a[0].Step) SEEDS=`$(`$a.Seed -join ',') SAMPLER=`$(`$a[0].Sampler)"
"FILES=`$((Get-ChildItem '$Source/a' -Name | Sort-Object) -join ',')"
"A=`$((Get-FileHash `$a.Path).Hash -join ',')"
"B=`$((Get-FileHash `$b.Path).Hash -join ',')"
"PATHS=`$(`$a.Path -join '|')"
"TABLE=`$((`$a | Out-String -Width 200) -split "``n" | Where-Object { `$_ -match '^\s*Step\s+Prompt' })"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $text = $r.Output -join "`n"
        $text | Should -Match 'TYPE=KohyaPS.Contracts.KohyaSample COUNT=4 STEP=2 SEEDS=7,8,7,8 SAMPLER=euler'
        $text | Should -Match 'FILES=000-7.png,000-8.png,001-7.png,001-8.png,grid.png,samples.json'
        $a = ($r.Output | Where-Object { $_ -like 'A=*' }).Substring(2)
        $b = ($r.Output | Where-Object { $_ -like 'B=*' }).Substring(2)
        $a | Should -Be $b
        @($a -split ',' | Select-Object -Unique).Count | Should -Be 4 -Because 'different seeds and prompts give different images'
        $paths = ($r.Output | Where-Object { $_ -like 'PATHS=*' }).Substring(6) -split '\|'
        $paths | ForEach-Object { Get-PngSize $_ } | Should -Be @('16x16', '16x16', '24x8', '24x8')
        Get-PngSize "$Source/a/grid.png" | Should -Be '50x34'
        $text | Should -Match 'TABLE=\s*Step\s+Prompt\s+Seed\s+Sampler\s+Steps\s+CFG\s+Size\s+File'
    }

    It 'takes a run folder and a prompts file, writes to the run samples/manual-step folder, and refuses to overwrite without -Force' {
        $run = Join-Path $Source 'run2'
        Copy-Item -Recurse "$Source/run" $run
        Set-Content "$Source/prompts.txt" "# prompts`na green triangle --d 3 --s 2`n"
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$s = Invoke-KohyaSample -Path '$run' -PromptFile '$Source/prompts.txt' -Sampler ddpm -ErrorAction Stop
"DIR=`$(Split-Path -Parent `$s.Path) SEED=`$(`$s.Seed) STEPS=`$(`$s.Steps)"
Invoke-KohyaSample -Path '$run' -PromptFile '$Source/prompts.txt' -Sampler ddpm -ErrorVariable e -ErrorAction SilentlyContinue
"ERR=`$(`$e[0].FullyQualifiedErrorId) CAT=`$(`$e[0].CategoryInfo.Category)"
`$again = Invoke-KohyaSample -Path '$run' -PromptFile '$Source/prompts.txt' -Sampler ddpm -Force -ErrorAction Stop
"FORCED=`$(`$again.Count)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $text = $r.Output -join "`n"
        $text | Should -Match ([regex]::Escape("DIR=$run/samples/manual-00000002") + ' SEED=3 STEPS=2')
        $text | Should -Match 'ERR=SampleOutputExists,KohyaPS.Commands.Commands.InvokeKohyaSampleCommand CAT=InvalidOperation'
        $text | Should -Match 'FORCED=1'
    }

    It 'refuses unsupported samplers and bad prompt lines with specific error ids, completes -Sampler, and -WhatIf writes nothing' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
Invoke-KohyaSample -Path '$Source/run' -Prompt 'x' -Sampler euler_a -OutputPath '$Source/w' -ErrorVariable e1 -ErrorAction SilentlyContinue
"E1=`$(`$e1[0].FullyQualifiedErrorId) MSG=`$(`$e1[0].Exception.Message)"
Invoke-KohyaSample -Path '$Source/run' -Prompt 'x --s many' -OutputPath '$Source/w' -ErrorVariable e2 -ErrorAction SilentlyContinue
"E2=`$(`$e2[0].FullyQualifiedErrorId) TARGET=`$(`$e2[0].TargetObject)"
Invoke-KohyaSample -Path '$Source/nowhere' -Prompt 'x' -ErrorVariable e3 -ErrorAction SilentlyContinue
"E3=`$(`$e3[0].FullyQualifiedErrorId)"
Invoke-KohyaSample -Path '$Source/run' -Prompt 'x' -Sampler ddim -OutputPath '$Source/w' -WhatIf
"WHATIF=`$(Test-Path '$Source/w')"
`$line = 'Invoke-KohyaSample -Sampler '
`$c = TabExpansion2 -inputScript `$line -cursorColumn `$line.Length
"COMPLETE=`$(`$c.CompletionMatches.CompletionText -join ',')"
`$line = 'Invoke-KohyaSample -Sampler k'
`$c = TabExpansion2 -inputScript `$line -cursorColumn `$line.Length
"COMPLETEK=`$(`$c.CompletionMatches.CompletionText -join ',')"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $text = $r.Output -join "`n"
        $text | Should -Match 'E1=SamplerNotSupported,KohyaPS.Commands.Commands.InvokeKohyaSampleCommand MSG=.*ddpm, ddim, euler, k_euler'
        $text | Should -Match 'E2=SamplePromptInvalid,\S+ TARGET=-Prompt:1'
        $text | Should -Match 'E3=CheckpointNotFound,'
        $text | Should -Match 'WHATIF=False'
        $text | Should -Match 'COMPLETE=ddpm,ddim,euler,k_euler'
        $text | Should -Match 'COMPLETEK=k_euler'
    }
}
