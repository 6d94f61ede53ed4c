BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    function script:Get-SafetensorsHeader([string] $Path) {
        $bytes = [IO.File]::ReadAllBytes($Path)
        $length = [BitConverter]::ToInt64($bytes, 0)
        [Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json
    }

    function script:Get-SafetensorsNames([string] $Path) {
        @((Get-SafetensorsHeader $Path).PSObject.Properties.Name | Where-Object { $_ -ne '__metadata__' })
    }
}

Describe 'LoRA training through pwsh' {
    BeforeEach {
        $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-pester-lora-').FullName
        $script:Config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml')
    }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'Invoke-KohyaTraining -Demo -Network LoRA trains adapters only; Get-KohyaCheckpoint -Latest | Export-KohyaLora writes a kohya LoRA; -NetworkWeights starts from it' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$result = Invoke-KohyaTraining -ConfigPath '$Config' -Demo -Network LoRA -NetworkDim 4 -NetworkAlpha 2 -MaxSteps 3 -OutputPath '$Dir/run'
"STATUS=`$(`$result.Status) FINAL=`$(`$result.FinalStep)"
`$test = Get-KohyaCheckpoint -Path '$Dir/run' -Latest | Test-KohyaCheckpoint
"VALID=`$(`$test.IsValid) NETWORK=`$(`$test.Properties['Network'])"
`$lora = Get-KohyaCheckpoint -Path '$Dir/run' -Latest | Export-KohyaLora -OutputPath '$Dir/run.safetensors'
"DIM=`$(`$lora.NetworkDim) ALPHA=`$(`$lora.NetworkAlpha) HASH=`$(`$lora.ModelHashCheck) SOURCE=`$(`$lora.Metadata['kohyaps.lora_source'])"
"UNET=`$(`$lora.UNetModuleCount) TE=`$(`$lora.TextEncoderModuleCount)"
`$again = Invoke-KohyaTraining -ConfigPath '$Config' -Demo -Network LoRA -NetworkDim 4 -NetworkAlpha 2 -MaxSteps 1 -OutputPath '$Dir/again' -NetworkWeights '$Dir/run.safetensors' 3>&1
`$again | Where-Object { `$_ -is [System.Management.Automation.WarningRecord] } | ForEach-Object { "WARNING: `$(`$_.Message)" }
"AGAIN=`$((`$again | Where-Object { `$_ -isnot [System.Management.Automation.WarningRecord] }).Status)"
try { Invoke-KohyaTraining -ConfigPath '$Config' -Demo -Network LoRA -NetworkDim 2 -NetworkAlpha 2 -MaxSteps 1 -OutputPath '$Dir/bad' -NetworkWeights '$Dir/run.safetensors' -ErrorAction Stop }
catch { "ERRORID=`$(`$_.FullyQualifiedErrorId) CATEGORY=`$(`$_.CategoryInfo.Category)" }
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'STATUS=Completed FINAL=3'
        ($r.Output | Where-Object { $_ -like 'VALID=*' }) | Should -Match '^VALID=True NETWORK=lora, \d+ adapters, rank 4, alpha 2$'
        $r.Output | Should -Contain 'DIM=4 ALPHA=2 HASH=Match SOURCE=trained'
        ($r.Output | Where-Object { $_ -like 'UNET=*' }) | Should -Match '^UNET=[1-9]\d* TE=[1-9]\d*$'
        ($r.Output -join "`n") | Should -Match 'WARNING: Continuing from the LoRA weights .* optimizer state .* starts fresh'
        $r.Output | Should -Contain 'AGAIN=Completed'
        ($r.Output | Where-Object { $_ -like 'ERRORID=*' }) | Should -Match '^ERRORID=NetworkWeightsMismatch,.* CATEGORY=InvalidData$'

        # The checkpoint's model.safetensors holds adapters only; the exported file kohya's names and a correct hash.
        $checkpoint = Get-ChildItem "$Dir/run/checkpoints" -Directory | Sort-Object Name | Select-Object -Last 1
        $names = Get-SafetensorsNames (Join-Path $checkpoint.FullName 'model.safetensors')
        $names | Where-Object { $_ -notmatch '\.(lora_down\.weight|lora_up\.weight|alpha)$' } | Should -BeNullOrEmpty
        $exported = Get-SafetensorsNames "$Dir/run.safetensors"
        $exported | Where-Object { $_ -notmatch '^lora_(unet|te)_[a-z0-9_]+\.(lora_down\.weight|lora_up\.weight|alpha)$' } | Should -BeNullOrEmpty
        $exported.Count | Should -Be $names.Count
        $header = Get-SafetensorsHeader "$Dir/run.safetensors"
        $header.'__metadata__'.sshs_model_hash | Should -Be (Get-SafetensorsDataHash "$Dir/run.safetensors")
    }
}
