BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
}

Describe 'Mixed precision through pwsh' {
    BeforeEach { $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-pester-precision-').FullName }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'Invoke-KohyaTraining -Demo -Preset tiny with a hashtable set of Resources.Dtype bfloat16 trains and saves float32 masters' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$set = [KohyaPS.Contracts.KohyaHyperparameterSet]@{
    Model = @{ Preset = 'tiny'; MaxTokens = 12 }
    Data = @{ Resolution = 16; BatchSize = 4 }
    Resources = @{ Threads = 2; Dtype = 'bfloat16'; GradientCheckpointing = `$true }
    Saving = @{ AsyncSave = `$false }
}
`$result = Invoke-KohyaTraining -HyperparameterSet `$set -Demo -Preset tiny -MaxSteps 3 -SaveEveryNSteps 3 -OutputPath '$Dir/run'
"STATUS=`$(`$result.Status) FINAL=`$(`$result.FinalStep) LOSS=`$([double]::IsFinite(`$result.FinalLoss))"
`$checkpoint = Get-KohyaCheckpoint -Path '$Dir/run' -Latest
"VALID=`$((`$checkpoint | Test-KohyaCheckpoint).IsValid) DTYPE=`$(`$checkpoint.HyperparameterSet.Resources.Dtype)"
`$bytes = [IO.File]::ReadAllBytes((Join-Path `$checkpoint.Path 'model.safetensors'))
`$header = [Text.Encoding]::UTF8.GetString(`$bytes, 8, [BitConverter]::ToInt64(`$bytes, 0)) | ConvertFrom-Json
`$dtypes = `$header.PSObject.Properties | Where-Object Name -ne '__metadata__' | ForEach-Object { `$_.Value.dtype } | Sort-Object -Unique
"TENSORDTYPES=`$(`$dtypes -join ',')"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'STATUS=Completed FINAL=3 LOSS=True'
        $r.Output | Should -Contain 'VALID=True DTYPE=bfloat16'
        $r.Output | Should -Contain 'TENSORDTYPES=F32'
    }
}
