# The latent path through the real module in real pwsh processes: the tiny-sd preset (tiny VAE, CLIP byte-level
# tokenizer, 4-channel UNet) trained in a child pwsh that is killed with SIGKILL, resumed from its newest checkpoint,
# compared with an uninterrupted run, tested and sampled.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    function script:Get-PngSize([string] $Path) {
        $b = [IO.File]::ReadAllBytes($Path)
        '{0}x{1}' -f (($b[16] -shl 24) -bor ($b[17] -shl 16) -bor ($b[18] -shl 8) -bor $b[19]), (($b[20] -shl 24) -bor ($b[21] -shl 16) -bor ($b[22] -shl 8) -bor $b[23])
    }
}

Describe 'Latent models (tiny-sd) through pwsh' {
    BeforeAll {
        $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-pester-latent-').FullName
        $script:Config = Join-Path $Dir 'latent.yaml'
        @"
Model:
  Preset: tiny-sd
  MaxTokens: 40
Data:
  Resolution: 16
  BatchSize: 4
  CacheLatents: true
LRSchedule:
  WarmupSteps: 0
Resources:
  Threads: 1
Saving:
  SaveEveryNSteps: 2
  AsyncSave: false
"@ | Set-Content $Config
        Import-Module (Get-KohyaTestManifest) -Force
    }
    AfterAll { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'trains, is killed with SIGKILL, resumes from its newest checkpoint to the same weights as an uninterrupted run, and samples decoded images' {
        $killed = Join-Path $Dir 'killed'
        $proc = Start-KohyaChild -OutputPath "$killed.out" -Script @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 100000 -OutputPath '$killed'
"@
        try {
            Wait-KohyaLogLines -Run $killed -Count 5 -Process $proc | Should -BeGreaterOrEqual 5 -Because (Get-Content "$killed.out" -Raw)
        }
        finally { Send-Signal $proc.Id 'KILL' }
        $proc.WaitForExit(60000) | Should -BeTrue
        $saved = Get-KohyaCheckpoint -Path $killed -Latest
        $saved.Step | Should -BeGreaterOrEqual 4
        $target = $saved.Step + 3
        $resumed = Resume-KohyaTraining -Path $killed -Latest -MaxSteps $target -WarningAction SilentlyContinue
        $resumed.Status | Should -Be 'Completed'
        $resumed.FinalStep | Should -Be $target
        @(Get-ChildItem (Join-Path $killed 'cache/latents') -Recurse -Filter *.safetensors).Count | Should -Be 64 -Because 'each of the 64 demo images is cached once'

        # The demo dataset the killed run drew is reused, so both runs see the same images.
        $straight = Invoke-KohyaTraining -ConfigPath $Config -DatasetPath (Join-Path $killed 'dataset') -MaxSteps $target -OutputPath (Join-Path $Dir 'straight')
        $straight.FinalStep | Should -Be $target
        foreach ($file in 'model.safetensors', 'optimizer.safetensors') {
            Get-SafetensorsDataHash (Join-Path $resumed.LatestCheckpoint $file) | Should -Be (Get-SafetensorsDataHash (Join-Path $straight.LatestCheckpoint $file)) -Because $file
        }

        $test = Get-KohyaCheckpoint -Path $killed -Latest | Test-KohyaCheckpoint -Deep
        $test.IsValid | Should -BeTrue -Because (($test.Checks | ForEach-Object { "$($_.Name) $($_.Status) $($_.Message)" }) -join "`n")

        $samples = @(Get-KohyaCheckpoint -Path $killed -Latest | Invoke-KohyaSample -Prompt 'a red circle on a white background' -Count 2 -Steps 4 -Width 32 -Height 16 -OutputPath (Join-Path $Dir 'samples'))
        $samples.Count | Should -Be 2
        $samples | ForEach-Object { Get-PngSize $_.Path | Should -Be '32x16' }
        $samples.Step | Sort-Object -Unique | Should -Be $target
    }

    It 'refuses -ModelPath with a pixel preset, and a pickled checkpoint, each with its error id' {
        $pickle = Join-Path $Dir 'model.ckpt'
        [IO.File]::WriteAllBytes($pickle, [byte[]](0x80, 0x02, 0x7D, 0x71))
        $err = { Invoke-KohyaTraining -Demo -Preset tiny -ModelPath $pickle -MaxSteps 1 -OutputPath (Join-Path $Dir 'pixel-path') } |
            Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Match '^InvalidHyperparameter'
        "$err" | Should -Match 'Model.Path needs a latent preset'

        $err = { Invoke-KohyaTraining -ConfigPath $Config -Demo -ModelPath $pickle -MaxSteps 1 -OutputPath (Join-Path $Dir 'pickle-path') } |
            Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Match '^PickleCheckpointRefused'
        Test-Path (Join-Path $Dir 'pickle-path/checkpoints') | Should -BeFalse
    }
}
