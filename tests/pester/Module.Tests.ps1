BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
    $script:Manifest = Get-KohyaTestManifest
}

Describe 'KohyaPS module' {
    It 'declares PowerShell 7.6 Core only, so Windows PowerShell 5.1 gets a clear refusal' {
        $data = Import-PowerShellDataFile $Manifest
        $data.PowerShellVersion | Should -Be '7.6'
        $data.CompatiblePSEditions | Should -Be @('Core')
    }

    It 'imports, loads libtorch 2.10 and runs a tensor operation inside pwsh' {
        $r = Invoke-KohyaChild @'
Import-Module $env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
$e = Get-KohyaEnvironment
"LIBTORCH=$($e.LibTorchVersion)"
"SELFTEST=$($e.TensorSelfTestPassed)"
"THREADS=$($e.TorchThreads)"
'@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'SELFTEST=True'
        ($r.Output | Where-Object { $_ -like 'LIBTORCH=*' }) | Should -Match '^LIBTORCH=2\.10\.'
    }

    It 'shows the environment as a table by default' {
        $r = Invoke-KohyaChild @'
Import-Module $env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
Get-KohyaEnvironment | Out-String -Width 200
'@
        $r.ExitCode | Should -Be 0
        ($r.Output -join "`n") | Should -Match 'KohyaPS\s+TorchSharp\s+LibTorch'
    }

    It 'survives Remove-Module and Import-Module again in one session, and -Force' {
        $r = Invoke-KohyaChild @'
Import-Module $env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
$null = Get-KohyaEnvironment
Remove-Module KohyaPS
Import-Module $env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
"SECOND=$((Get-KohyaEnvironment).TensorSelfTestPassed)"
Import-Module $env:KOHYA_MODULE_MANIFEST -Force -ErrorAction Stop
"THIRD=$((Get-KohyaEnvironment).TensorSelfTestPassed)"
'@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'SECOND=True'
        $r.Output | Should -Contain 'THIRD=True'
    }

    It 'loads the engine in its private load context, not the default one' {
        $r = Invoke-KohyaChild @'
Import-Module $env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
$null = Get-KohyaEnvironment
$engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'KohyaPS.Engine' }
$torch = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'TorchSharp' }
"ENGINE=" + [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).Name
"TORCH=" + [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($torch).Name
$contracts = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'KohyaPS.Contracts' }
"CONTRACTS=" + @($contracts).Count + ":" + [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($contracts).Name
'@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'ENGINE=KohyaPS.Engine'
        $r.Output | Should -Contain 'TORCH=KohyaPS.Engine'
        $r.Output | Should -Contain 'CONTRACTS=1:Default'
    }
}
