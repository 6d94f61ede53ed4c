BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    Import-Module (Get-KohyaTestManifest) -Force
}

Describe 'Measure-KohyaTrainingResource' {
    It 'counts the SD1.5 models and the bytes of full fine-tuning with AdamW' {
        $e = Measure-KohyaTrainingResource -Preset sd15
        $e | Should -BeOfType KohyaPS.Contracts.KohyaTrainingResourceEstimate
        $e.UNetParameters | Should -Be 859520964
        $e.TextEncoderParameters | Should -Be 123060480
        $e.VaeParameters | Should -Be 83653863
        $e.TrainableParameters | Should -Be (859520964 + 123060480)
        $e.GradientBytes | Should -Be (4 * $e.TrainableParameters)
        $e.OptimizerStateBytes | Should -Be (8 * $e.TrainableParameters)
        $e.WeightBytes | Should -Be (4 * ($e.TrainableParameters + $e.VaeParameters))
        $e.TotalBytes | Should -Be ($e.WeightBytes + $e.GradientBytes + $e.OptimizerStateBytes + $e.ActivationBytes)
        $e.Fits | Should -BeNullOrEmpty   # no CUDA here and no -DeviceMemory
        ($e | Format-Table | Out-String) | Should -Match 'sd15\s+512\s+1\s+fp32\s+982\.6M'
    }

    It 'measures sets from the pipeline with overrides: activations scale with the batch, Fits follows -DeviceMemory' {
        $set = New-KohyaHyperparameterSet -Preset sd15 -Property @{ Network = @{ Type = 'lora'; Dim = 4 }; Optimizer = @{ Type = 'Lion' } }
        $one, $four = 1, 4 | ForEach-Object { $set | Measure-KohyaTrainingResource -BatchSize $_ -Dtype bfloat16 -DeviceMemory 8GB }
        $one.TrainableParameters | Should -Be 2359296   # 4 × (423,936 UNet + 165,888 text encoder) features per rank
        $one.OptimizerStateBytes | Should -Be (4 * 2359296)   # Lion: one slot
        $four.ActivationBytes | Should -Be (4 * $one.ActivationBytes)
        $one.Fits | Should -Be ($one.TotalBytes -le 8GB)
        $checkpointed = $set | Measure-KohyaTrainingResource -BatchSize 4 -Dtype bfloat16 -GradientCheckpointing -DeviceMemory 1KB
        $checkpointed.ActivationBytes | Should -BeLessThan ($four.ActivationBytes / 4)
        $checkpointed.Fits | Should -BeFalse
        $checkpointed.CheckpointBytes | Should -Be (4 * 2359296 + 4 * 2359296)
    }

    It 'reports a resolution the model cannot take and goes on with the next set' {
        $good = New-KohyaHyperparameterSet -Preset tiny
        $bad = New-KohyaHyperparameterSet -Preset sd15 -Resolution 520
        $out = $bad, $good | Measure-KohyaTrainingResource -ErrorVariable problems -ErrorAction SilentlyContinue
        @($out).Count | Should -Be 1
        $out.Preset | Should -Be 'tiny'
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'InvalidResourceRequest*'
        $problems[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'leaves CUDA memory empty in Get-KohyaEnvironment on a machine without CUDA' {
        $environment = Get-KohyaEnvironment
        $environment.PSObject.Properties.Name | Should -Contain 'CudaMemory'
        $environment.CudaAvailable | Should -BeFalse
        $environment.CudaMemory | Should -BeNullOrEmpty
    }
}
