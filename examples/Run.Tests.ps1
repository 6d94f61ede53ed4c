# What a finished (or paused) run must satisfy, written with KohyaPS's Pester assertions.
# Run it through ValidateRun.ps1, or: Invoke-Pester -Container (New-PesterContainer -Path ./Run.Tests.ps1 -Data @{ RunPath = 'D:\runs\cat' })
param(
    [Parameter(Mandatory)][string] $RunPath,
    [double] $LossBelow = 10,
    [long] $AfterStep = 0
)

BeforeAll {
    $script:Latest = Get-KohyaCheckpoint -Path $RunPath -Latest
}

Describe "The run $RunPath" {
    It 'has a newest checkpoint that passes every check' {
        $Latest | Should -BeValidKohyaCheckpoint
    }

    It "has every loss after step $AfterStep below $LossBelow" {
        $RunPath | Should -HaveKohyaLossBelow $LossBelow -AfterStep $AfterStep
    }

    It 'still has the dataset it was trained on' {
        $dataset = Join-Path $RunPath 'dataset'   # the demo's; use your dataset folder here
        $dataset | Should -MatchKohyaDataset $Latest
    }
}
