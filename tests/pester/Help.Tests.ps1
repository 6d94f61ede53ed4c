BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../../tools/KohyaHelpMarkdown.psm1') -Force
    $manifest = Get-KohyaTestManifest
    $data = Import-PowerShellDataFile $manifest
    $script:Commands = @($data.CmdletsToExport | ForEach-Object { @{ Name = $_ } })
    $helpRoot = Join-Path $PSScriptRoot '../../help'
    $script:Examples = foreach ($c in $data.CmdletsToExport) {
        $file = Join-Path $helpRoot "$c.md"
        if (-not (Test-Path $file)) { continue } # the 'Help for <Name>' tests fail for it
        $md = ConvertFrom-KohyaHelpMarkdown -Path $file
        $i = 0
        foreach ($e in $md.Examples) { $i++; @{ Command = $c; Index = $i; Title = $e.Title; Code = $e.Code; Runnable = $e.Runnable; Reason = $e.Reason } }
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    Import-Module (Get-KohyaTestManifest) -Force
    $script:Common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
}

Describe 'Help for <Name>' -ForEach $Commands {
    BeforeAll { $script:help = Get-Help $Name -Full }

    It 'has a synopsis' { $help.Synopsis | Should -Not -BeNullOrEmpty; $help.Synopsis | Should -Not -Match '^\s*\S+\s*\[' }
    It 'has a description' { ($help.Description.Text -join '') | Should -Not -BeNullOrEmpty }
    It 'has at least one example with code' { @($help.Examples.Example).Count | Should -BeGreaterThan 0; @($help.Examples.Example)[0].Code | Should -Not -BeNullOrEmpty }
    It 'describes every parameter' {
        $params = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $Common }
        foreach ($p in $params) {
            $entry = $help.Parameters.Parameter | Where-Object Name -eq $p
            ($entry.Description.Text -join '') | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }
}

Describe 'about_KohyaPS' {
    It 'is available through Get-Help' { (Get-Help about_KohyaPS | Out-String) | Should -Match 'private AssemblyLoadContext' }
}

Describe 'Help example <Index> of <Command>: <Title>' -ForEach $Examples {
    It 'runs without error' {
        if (-not $Runnable) { Set-ItResult -Skipped -Because $Reason; return }
        $r = Invoke-KohyaChild @"
`$ErrorActionPreference = 'Stop'
Import-Module `$env:KOHYA_MODULE_MANIFEST
Set-Location ([IO.Directory]::CreateTempSubdirectory('kohya-example-').FullName)
$Code
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
    }
}
