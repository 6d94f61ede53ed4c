# Every script in examples/ runs here, in a fresh pwsh against the built module, with tiny step counts, so
# the user journeys they show never rot.

BeforeDiscovery {
    $script:Examples = @(
        @{ Name = 'QuickStart'; Arguments = '-MaxSteps 4 -SaveEveryNSteps 2 -Resolution 16'; Expect = 'Continue it any time' }
        @{ Name = 'InterruptAndResume'; Arguments = '-MaxSteps 8 -InterruptAfter 3 -Resolution 16'; Expect = 'one line each: True' }
        @{ Name = 'ScheduledResume'; Arguments = '-FirstSteps 3 -MaxSteps 6 -Resolution 16'; Expect = 'Run 2 exited with 0 \(Success\)' }
        @{ Name = 'CompareDatasetsBeforeResume'; Arguments = '-FirstSteps 2 -AdditionalSteps 2 -Resolution 16'; Expect = 'Refused: DatasetChanged' }
        @{ Name = 'ValidateRun'; Arguments = "-MaxSteps 3 -Resolution 16 -PesterManifest '{pester}'"; Expect = 'Validation: 3 passed, 0 failed' }
        @{ Name = 'Demo'; Arguments = '-MaxSteps 6 -InterruptAt 3'; Expect = 'Resume it further any time' }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    $script:ExampleDir = Join-Path $PSScriptRoot '../../examples' | Resolve-Path | Select-Object -ExpandProperty Path
    $script:Pester = Join-Path (Get-NuGetPackagePath 'Pester' '5.7.1') 'tools/Pester.psd1'
}

Describe 'examples/<Name>.ps1' -ForEach $Examples {
    It 'runs to the end' {
        $dir = [IO.Directory]::CreateTempSubdirectory('kohya-example-').FullName
        try {
            $arguments = $Arguments.Replace('{pester}', $Pester)
            $r = Invoke-KohyaChild @"
`$ErrorActionPreference = 'Stop'
Set-Location '$dir'
& '$ExampleDir/$Name.ps1' -ModuleManifest `$env:KOHYA_MODULE_MANIFEST -RunPath '$dir/run' $arguments
exit `$LASTEXITCODE
"@
            $text = $r.Output -join "`n"
            $r.ExitCode | Should -Be 0 -Because $text
            $text | Should -Match $Expect
        }
        finally { Remove-Item $dir -Recurse -Force -ErrorAction SilentlyContinue }
    }
}
