# Helpers shared by the Pester suites: where the built module is, and running a script in a fresh
# pwsh process (a clean session, a real process to signal, a real exit code).

function Get-KohyaTestManifest {
    if ($env:KOHYA_MODULE_MANIFEST) { return $env:KOHYA_MODULE_MANIFEST }
    Join-Path $PSScriptRoot '../../module/KohyaPS.psd1' | Resolve-Path | Select-Object -ExpandProperty Path
}

function Get-KohyaPwshCommand {
    # The real pwsh process (not the `dotnet pwsh` shim, which does not forward signals).
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if (Test-Path $dll) { return @('dotnet', $dll) }
    @((Join-Path $PSHOME 'pwsh'))
}

function Invoke-KohyaChild {
    <# Runs $Script in a fresh pwsh with the module manifest path in $env:KOHYA_MODULE_MANIFEST.
       Returns Output (string[]), ExitCode. #>
    param([Parameter(Mandatory)][string] $Script, [int] $TimeoutSeconds = 300)
    $cmd = Get-KohyaPwshCommand
    $file = Join-Path ([IO.Path]::GetTempPath()) ("kohya-child-{0}.ps1" -f [guid]::NewGuid().ToString('N'))
    Set-Content -Path $file -Value $Script
    try {
        $env:KOHYA_MODULE_MANIFEST = Get-KohyaTestManifest
        $rest = @($cmd | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $file)
        $output = & $cmd[0] @rest 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ Output = @($output); ExitCode = $LASTEXITCODE }
    }
    finally { Remove-Item $file -ErrorAction SilentlyContinue }
}

function Get-NuGetPackagePath([string] $Id, [string] $Version) {
    $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    Join-Path $cache "$($Id.ToLowerInvariant())/$Version"
}

Export-ModuleMember -Function Get-KohyaTestManifest, Get-KohyaPwshCommand, Invoke-KohyaChild, Get-NuGetPackagePath
