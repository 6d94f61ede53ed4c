@{
    RootModule           = 'KohyaPS.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f9a3e-7c1d-4e2a-9f46-2d8c1b7e6a10'
    Author               = 'KohyaPS contributors'
    CompanyName          = 'KohyaPS'
    Copyright            = '(c) KohyaPS contributors. MIT License.'
    Description          = 'Stable Diffusion training that resumes after an interruption without losing anything and without silently changing the run: atomic, verified checkpoints; exact resume; drift checks; loss guards.'
    # The engine needs modern .NET: Windows PowerShell 5.1 is refused here with a clear message.
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    RequiredAssemblies   = @('KohyaPS.Contracts.dll')
    FormatsToProcess     = @('KohyaPS.Format.ps1xml')
    # Pester assertions (Should -BeValidKohyaCheckpoint, -HaveKohyaLossBelow, -MatchKohyaDataset); built from src/KohyaPS/Assertions.
    NestedModules        = @('KohyaPS.Assertions.psm1')
    CmdletsToExport      = @(
        'Get-KohyaEnvironment'
        'Measure-KohyaTrainingResource'
        'Invoke-KohyaTraining'
        'Start-KohyaTraining'
        'Resume-KohyaTraining'
        'Stop-KohyaTraining'
        'Get-KohyaCheckpoint'
        'Test-KohyaCheckpoint'
        'Export-KohyaLora'
        'Invoke-KohyaSample'
        'Remove-KohyaCheckpoint'
        'New-KohyaHyperparameterSet'
        'Import-KohyaHyperparameterSet'
        'Export-KohyaHyperparameterSet'
        'Compare-KohyaHyperparameterSet'
        'New-KohyaDemoDataset'
        'New-KohyaDatasetManifest'
        'Import-KohyaDatasetManifest'
        'Export-KohyaDatasetManifest'
        'Compare-KohyaDatasetManifest'
        'Test-KohyaDataset'
        'Measure-KohyaOutput'
        'Register-KohyaTrainingTask'
        'Get-KohyaTrainingTask'
        'Unregister-KohyaTrainingTask'
        'Get-KohyaTrainingLog'
        'Watch-KohyaTraining'
        'Export-KohyaLossPlot'
    )
    FunctionsToExport    = @('Register-KohyaShouldOperator')
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('StableDiffusion', 'LoRA', 'Training', 'TorchSharp', 'Checkpoint', 'Resume')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
