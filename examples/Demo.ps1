<#
.SYNOPSIS
    The README's first command: shows what the machine offers a training run.
#>
param([Parameter(Mandatory)][string] $ModuleManifest)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest
Get-KohyaEnvironment | Format-List
